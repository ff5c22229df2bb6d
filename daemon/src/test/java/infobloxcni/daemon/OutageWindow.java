package infobloxcni.daemon;

import java.util.concurrent.atomic.AtomicLong;

/**
 * When the grid is in an injected outage (hung or refusing), from the moment it goes down until
 * the daemon has been seen to know it is back: an ADD answered in that window may come from the
 * pool with no grid call, and is checked once the daemon has settled instead of at once.
 */
final class OutageWindow {
    /** The window's state when a call was sent. */
    record Mark(boolean active, long generation) {}

    private volatile boolean active;
    private volatile long beganSeq;
    private final AtomicLong generation = new AtomicLong();

    void begin(long seq) {
        beganSeq = seq;
        active = true;
        generation.incrementAndGet();
    }

    void end() {
        active = false;
        generation.incrementAndGet();
    }

    boolean active() {
        return active;
    }

    /** The run's clock when the last outage began. */
    long beganSeq() {
        return beganSeq;
    }

    Mark mark() {
        return new Mark(active, generation.get());
    }

    /** Whether an outage was on at any moment since {@code sent}. */
    boolean overlapped(Mark sent) {
        return sent.active() || active || generation.get() != sent.generation();
    }
}
