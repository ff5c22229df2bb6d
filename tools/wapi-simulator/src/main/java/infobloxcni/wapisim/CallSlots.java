package infobloxcni.wapisim;

import java.util.ArrayDeque;
import java.util.concurrent.locks.LockSupport;

/**
 * A busy grid's service slots: at most {@code limit} WAPI calls are carried out at once, and the
 * others wait their turn in arrival order, as work queues on a Grid Master under load. A freed slot
 * is handed straight to the longest waiter (never to a call that arrives later), so the order is
 * strictly FIFO. A waiting call is not dropped and not timed out here: a client that gives up only
 * stops listening, and its call is still carried out when its turn comes, as on a grid that has
 * read the request. {@link #close()} turns every waiter away (the simulator is shutting down).
 *
 * <p>A limit of 0 means unlimited: calls neither queue nor count. Lowering the limit below the
 * calls in service lets them finish; no new call starts until fewer than the limit are in service.
 */
final class CallSlots {
    /** One queued call; {@code state} is set under the monitor, read by the parked thread. */
    private static final class Waiter {
        final Thread thread = Thread.currentThread();
        volatile int state; // 0 waiting, 1 granted a slot, 2 turned away
    }

    private int limit;
    private int inService;
    private boolean closed;
    private final ArrayDeque<Waiter> queue = new ArrayDeque<>();

    /** The outcome of {@link #enter()}. */
    enum Entry {
        /** unlimited: no slot was taken, nothing to give back */
        FREE,
        /** a slot was taken; {@link #leave()} must follow */
        SLOT,
        /** turned away (closed or interrupted): drop the call */
        REFUSED
    }

    /** Sets the limit (0: unlimited); waiters that now fit start at once, in order. */
    void limit(int n) {
        if (n < 0) throw new IllegalArgumentException("capacity < 0");
        synchronized (this) {
            limit = n;
            grantWhileRoom();
        }
    }

    synchronized int limit() {
        return limit;
    }

    synchronized int queued() {
        return queue.size();
    }

    synchronized int inService() {
        return inService;
    }

    /** Waits for a slot, in arrival order. */
    Entry enter() {
        Waiter w;
        synchronized (this) {
            if (closed) return Entry.REFUSED;
            if (limit == 0 && queue.isEmpty()) return Entry.FREE;
            if (queue.isEmpty() && inService < limit) {
                inService++;
                return Entry.SLOT;
            }
            w = new Waiter();
            queue.addLast(w);
        }
        while (w.state == 0) {
            LockSupport.park(this);
            if (Thread.interrupted()) {
                synchronized (this) {
                    if (w.state == 0) {
                        queue.remove(w);
                        Thread.currentThread().interrupt();
                        return Entry.REFUSED;
                    }
                }
            }
        }
        return w.state == 1 ? Entry.SLOT : Entry.REFUSED;
    }

    /** Gives a slot back; the longest waiter gets it. */
    void leave() {
        synchronized (this) {
            inService--;
            grantWhileRoom();
        }
    }

    /** Turns every waiter away and every later call too. */
    void close() {
        synchronized (this) {
            closed = true;
            for (Waiter w : queue) {
                w.state = 2;
                LockSupport.unpark(w.thread);
            }
            queue.clear();
        }
    }

    /** Under the monitor: hands free slots to waiters, head first (all of them when unlimited). */
    private void grantWhileRoom() {
        while (!queue.isEmpty() && (limit == 0 || inService < limit)) {
            Waiter w = queue.pollFirst();
            inService++;
            w.state = 1;
            LockSupport.unpark(w.thread);
        }
    }
}
