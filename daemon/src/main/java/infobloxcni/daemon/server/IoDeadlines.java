package infobloxcni.daemon.server;

import java.io.Closeable;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Deadlines for blocking I/O that has none of its own (a blocking channel's read or write waits
 * forever): at the deadline the channel is closed, which makes the blocked call fail at once.
 * One timer thread for all connections.
 */
final class IoDeadlines implements AutoCloseable {
    private final ScheduledThreadPoolExecutor timer;

    IoDeadlines() {
        timer = new ScheduledThreadPoolExecutor(
                1,
                r -> Thread.ofPlatform().name("socket-deadlines").daemon(true).unstarted(r));
        timer.setRemoveOnCancelPolicy(true);
    }

    /** Closes {@code channel} after {@code timeout} unless the returned deadline is closed first. */
    Deadline arm(Closeable channel, Duration timeout) {
        Deadline d = new Deadline(channel);
        d.future = timer.schedule(d::expire, timeout.toNanos(), TimeUnit.NANOSECONDS);
        return d;
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }

    /** One armed deadline; {@link #close()} disarms it. */
    static final class Deadline implements AutoCloseable {
        private final Closeable channel;
        private volatile ScheduledFuture<?> future;
        private volatile boolean expired;

        private Deadline(Closeable channel) {
            this.channel = channel;
        }

        private void expire() {
            expired = true;
            try {
                channel.close();
            } catch (IOException ignored) {
                // the blocked call fails either way
            }
        }

        /** Whether the deadline passed (and the channel was closed for it). */
        boolean expired() {
            return expired;
        }

        @Override
        public void close() {
            ScheduledFuture<?> f = future;
            if (f != null) f.cancel(false);
        }
    }
}
