package infobloxcni.daemon;

import java.util.concurrent.atomic.AtomicReference;

/**
 * The request path's signal to the background {@link PoolKeeper}: "a pool may need refilling, look
 * now rather than at the next tick". Made before both, so that neither needs the other to exist
 * first; the keeper says once, when it is made, what a signal should run.
 */
final class Wakeup {
    private final AtomicReference<Runnable> target = new AtomicReference<>(() -> {});

    void signal() {
        target.get().run();
    }

    void runs(Runnable onSignal) {
        target.set(onSignal);
    }
}
