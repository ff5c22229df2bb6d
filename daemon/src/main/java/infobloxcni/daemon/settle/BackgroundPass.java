package infobloxcni.daemon.settle;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One background job run as passes on its own thread: on a tick, and as soon as possible when
 * asked ({@link #runSoon}); asks made while a pass is queued are one. A pass that throws is
 * logged and the next one runs. {@link #close} waits for the pass in progress, so that nothing
 * writes to the journal after it is closed.
 */
final class BackgroundPass implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(BackgroundPass.class.getName());

    private final String name;
    private final Runnable pass;
    private final AtomicBoolean queued = new AtomicBoolean();
    private final ScheduledExecutorService thread;

    BackgroundPass(String name, Runnable pass) {
        this.name = name;
        this.pass = pass;
        this.thread = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        });
    }

    void start(Duration firstAfter, Duration tick) {
        thread.scheduleWithFixedDelay(this::runSafely, firstAfter.toMillis(), tick.toMillis(), TimeUnit.MILLISECONDS);
    }

    void runSoon() {
        if (!queued.compareAndSet(false, true)) return;
        try {
            thread.execute(() -> {
                queued.set(false);
                runSafely();
            });
        } catch (RejectedExecutionException closed) {
            queued.set(false);
        }
    }

    private void runSafely() {
        try {
            pass.run();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, name + " pass failed", e);
        }
    }

    @Override
    public void close() {
        thread.shutdownNow();
        try {
            thread.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
