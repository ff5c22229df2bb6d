package infobloxcni.plugin;

import java.io.IOException;
import java.nio.channels.SocketChannel;

/**
 * Keeps one call to the daemon within {@code ipam.daemon-timeout}: closes the channel when the
 * deadline passes, which makes a blocked connect, write or read fail at once (a blocking channel
 * has no timeout of its own).
 * Exactly one of {@link #finish()} and the deadline wins. A connect retry hands over its new
 * channel with {@link #watch}.
 */
final class Watchdog extends Thread {
    private static final int RUNNING = 0;
    private static final int FINISHED = 1;
    private static final int TIMED_OUT = 2;

    private SocketChannel channel; // guarded by this
    private final long deadline;
    private int state = RUNNING;

    Watchdog(SocketChannel channel, long timeoutMillis) {
        super("infoblox-plugin-timeout");
        setDaemon(true);
        this.channel = channel;
        this.deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
    }

    @Override
    public void run() {
        long remaining;
        while ((remaining = deadline - System.nanoTime()) > 0) {
            try {
                Thread.sleep(remaining / 1_000_000L + 1);
            } catch (InterruptedException e) {
                return;
            }
            synchronized (this) {
                if (state != RUNNING) {
                    return;
                }
            }
        }
        SocketChannel ch;
        synchronized (this) {
            if (state != RUNNING) {
                return;
            }
            state = TIMED_OUT;
            ch = channel;
        }
        try {
            ch.close();
        } catch (IOException ignored) {
            // the blocked call fails either way
        }
    }

    /** Watches this channel from now on; false (channel left open) if the deadline has passed. */
    synchronized boolean watch(SocketChannel next) {
        if (state != RUNNING) {
            return false;
        }
        channel = next;
        return true;
    }

    /** Marks the call complete; false if the deadline had already passed. */
    boolean finish() {
        boolean won;
        synchronized (this) {
            if (state == RUNNING) {
                state = FINISHED;
            }
            won = state == FINISHED;
        }
        interrupt();
        return won;
    }

    synchronized boolean timedOut() {
        return state == TIMED_OUT;
    }
}
