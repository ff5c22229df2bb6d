package infobloxcni.daemon;

import infobloxcni.store.AttachmentKey;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

/**
 * The request path's hand-off to the background {@link Reconciler}: the grid half of a verb
 * that runs after the answer. Made before both, so that neither needs the other to exist first;
 * the reconciler says once, when it is made, what each hand-off runs.
 */
final class Settlements {
    private final AtomicReference<Function<AttachmentKey, CompletableFuture<Void>>> behind =
            new AtomicReference<>(key -> CompletableFuture.completedFuture(null));
    private final AtomicReference<Runnable> later = new AtomicReference<>(() -> {});

    /**
     * This record's intent is on disk and its answer is going out: settle it on the grid now,
     * beside other records (a DEL's release or return to the pool, a pool address's tag).
     * Completes when that attempt is over, whatever its outcome (a failed one waits its backoff).
     */
    CompletableFuture<Void> behind(AttachmentKey key) {
        return behind.get().apply(key);
    }

    /** Something could not finish now (the grid refused, or is away): look at every pending record soon. */
    void later() {
        later.get().run();
    }

    void runs(Function<AttachmentKey, CompletableFuture<Void>> onBehind, Runnable onLater) {
        behind.set(onBehind);
        later.set(onLater);
    }
}
