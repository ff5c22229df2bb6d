package infobloxcni.daemon.settle;

import infobloxcni.daemon.state.AddressPool;
import infobloxcni.daemon.state.JournalGuard;
import infobloxcni.daemon.state.KeyLocks;
import infobloxcni.store.Attachment;
import infobloxcni.store.AttachmentKey;
import infobloxcni.store.AttachmentState;
import infobloxcni.wapi.Deadline;
import infobloxcni.wapi.WapiException;
import io.github.resilience4j.core.IntervalFunction;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Phaser;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Finishes what the journal says is unfinished, in the background, without holding up requests.
 * A request hands its record over the moment its intent is on disk ({@link #settleBehind}: the
 * record settles at once, on a virtual thread of its own, beside the others); whatever that
 * could not finish, and whatever a crash or an outage left, is taken up by passes on a tick,
 * oldest first, each record with its own backoff:
 * <ul>
 *   <li>{@code DEL_PENDING}: release on the grid, retried with exponential backoff until done;</li>
 *   <li>{@code TAG_PENDING}: tag an address the pool handed out with its container;</li>
 *   <li>{@code RETURN_PENDING}: retag an address a DEL gave back to the pool;</li>
 *   <li>{@code POOL_PENDING}: a pool refill whose answer was lost: look for it on the grid;</li>
 *   <li>{@code ADD_PENDING} (an answer lost, or the daemon killed mid-call): once no request is
 *       working on it and the grid has had time to finish the call, look on the grid: adopt what
 *       is there, else drop the intent. Nothing is released on a guess.</li>
 * </ul>
 */
public final class Reconciler implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Reconciler.class.getName());

    private final Settler settler;
    private final KeyLocks settling;
    private final JournalGuard journal;
    private final JournalRebuilder rebuilder;
    private final infobloxcni.wapi.GridHealth health;
    private final Clock clock;
    private final Duration addGrace;
    private final IntervalFunction backoff;
    private final Map<AttachmentKey, Instant> notBefore = new ConcurrentHashMap<>();
    private final BackgroundPass passes = new BackgroundPass("reconciler", this::reconcileOnce);
    private final AtomicBoolean nudged = new AtomicBoolean();
    /** Settlements behind answers at once: as many as the grid is asked to take in parallel. */
    private final Semaphore behindAtOnce = new Semaphore(BEHIND_AT_ONCE);

    private final Phaser behindInFlight = new Phaser(1);
    private volatile boolean closing;
    static final int BEHIND_AT_ONCE = 8;
    private final Duration callBound;
    private final PoolKeeper keeper;
    /** The states that leave work to do on the grid. */
    private static final java.util.Set<AttachmentState> PENDING = java.util.EnumSet.of(
            AttachmentState.ADD_PENDING,
            AttachmentState.DEL_PENDING,
            AttachmentState.TAG_PENDING,
            AttachmentState.RETURN_PENDING,
            AttachmentState.POOL_PENDING);

    private volatile Instant syncNotBefore = Instant.MIN;
    private int syncFailures;

    /**
     * @param settling    grid work on an attachment: one settlement (or request) at a time
     * @param addGrace    how long an ADD_PENDING is left alone: longer than one WAPI call can take,
     *                    so a write still in flight on the grid is never mistaken for no write
     * @param callBound   how long one record's settlement may wait on the grid
     */
    public Reconciler(
            Settler settler,
            KeyLocks settling,
            JournalGuard journal,
            JournalRebuilder rebuilder,
            infobloxcni.wapi.GridHealth health,
            Clock clock,
            Duration addGrace,
            Duration maxBackoff,
            Duration callBound,
            PoolKeeper keeper) {
        this.settler = settler;
        this.settling = settling;
        this.journal = journal;
        this.rebuilder = rebuilder;
        this.health = health;
        this.clock = clock;
        this.addGrace = addGrace;
        this.callBound = callBound;
        this.keeper = keeper;
        this.backoff = IntervalFunction.ofExponentialBackoff(Duration.ofSeconds(1), 2.0, maxBackoff);
    }

    public void start(Duration tick) {
        passes.start(Duration.ZERO, tick);
    }

    /** Something new is pending: look now, even if backoff says later for the pending releases. */
    public void nudge() {
        nudged.set(true);
        passes.runSoon();
    }

    /**
     * The grid is back: everything queued is due now, whatever its backoff said (a release that
     * had backed off to minutes must not wait for its timer once the grid answers again).
     */
    public void replayNow() {
        notBefore.clear();
        syncNotBefore = Instant.MIN;
        nudge();
    }

    /**
     * Settles one record now, on a virtual thread, while the request that wrote its intent
     * answers. It waits for the record's lock (the request has just let it go; another request
     * for the same attachment may come first, and then finds the work done or does it itself).
     * What fails here waits its backoff and the passes take it up.
     */
    public CompletableFuture<Void> settleBehind(AttachmentKey key) {
        CompletableFuture<Void> attempted = new CompletableFuture<>();
        if (closing) return CompletableFuture.completedFuture(null); // the record is on disk: the next start settles it
        try {
            if (behindInFlight.register() < 0) return CompletableFuture.completedFuture(null);
        } catch (IllegalStateException tooManyAtOnce) {
            nudge(); // the passes take it up
            return CompletableFuture.completedFuture(null);
        }
        try {
            Thread.ofVirtual().name("settle-behind").start(() -> {
                try {
                    behindAtOnce.acquire();
                    try {
                        Deadline.within(
                                callBound,
                                () -> resolve(
                                        key, clock.instant(), true)); // once registered, it runs: close waits for it
                    } finally {
                        behindAtOnce.release();
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } catch (RuntimeException e) {
                    LOG.log(
                            System.Logger.Level.ERROR,
                            "settling " + key + " behind its answer failed; the passes take it up",
                            e);
                } finally {
                    behindInFlight.arriveAndDeregister();
                    attempted.complete(null);
                }
            });
        } catch (RuntimeException | OutOfMemoryError noThread) {
            behindInFlight.arriveAndDeregister();
            nudge();
            attempted.complete(null);
        }
        return attempted;
    }

    /** When the passes next try this record, if a failure made it wait; empty when it is due now. */
    public java.util.Optional<Instant> nextTry(AttachmentKey key) {
        Instant due = notBefore.get(key);
        return due == null || !due.isAfter(clock.instant()) ? java.util.Optional.empty() : java.util.Optional.of(due);
    }

    /** How many settlements behind answers are under way or waiting their turn. */
    public int settlingBehind() {
        return Math.max(0, behindInFlight.getRegisteredParties() - 1);
    }

    /** One pass over the unfinished records; returns how many are still unfinished. */
    int reconcileOnce() {
        if (journal.needsGridSync()) {
            if (clock.instant().isBefore(syncNotBefore)) return -1;
            try {
                // twice the bound (plus: multipliedBy would set up BigDecimal on every start)
                Deadline.within(callBound.plus(callBound), () -> rebuilder.rebuild(journal));
                journal.gridSynced();
                syncFailures = 0;
            } catch (WapiException e) {
                Duration wait = Duration.ofMillis(backoff.apply(++syncFailures));
                syncNotBefore = clock.instant().plus(wait);
                LOG.log(
                        System.Logger.Level.WARNING,
                        "merging the journal with the grid waits for the grid (next try in {0}s): {1}",
                        String.valueOf(wait.toSeconds()),
                        e.getMessage());
                return -1;
            }
        }
        boolean force = nudged.getAndSet(false);
        Instant now = clock.instant();
        List<Attachment> pending = journal.all().stream()
                .filter(a -> PENDING.contains(a.state()))
                .sorted(java.util.Comparator.comparing(
                        Attachment::updated, java.util.Comparator.nullsFirst(java.util.Comparator.naturalOrder())))
                .toList(); // oldest first: queued work replays in the order it was queued
        int left = 0;
        for (Attachment a : pending) {
            Instant due = notBefore.get(a.key());
            if (due != null && now.isBefore(due) && !(force && a.state() != AttachmentState.ADD_PENDING)) {
                left++;
                continue;
            }
            try {
                if (!Deadline.within(callBound, () -> resolve(a.key(), now, false))) left++;
            } catch (RuntimeException e) {
                left++;
                notBefore.put(a.key(), now.plus(Duration.ofMillis(backoff.apply(Math.max(1, a.attempts() + 1)))));
                LOG.log(System.Logger.Level.ERROR, "settling " + a.key() + " failed; the other records go on", e);
            }
        }
        notBefore.keySet().removeIf(k -> journal.get(k).isEmpty());
        return left;
    }

    /**
     * Returns true when the record is settled (gone, allocated, or someone else's now). A pass
     * steps aside while a request or another settlement works on the attachment
     * ({@code waitForLock} false); a settlement behind an answer waits for it. The grid work runs
     * without the record's request lock (the {@link Settler} writes its outcome only if the record
     * is unchanged), so a DEL never waits for it. Nothing is tried while the grid is known down:
     * every call would be refused at once; the moment it is back, {@link #replayNow} runs it all.
     */
    private boolean resolve(AttachmentKey key, Instant now, boolean waitForLock) {
        try (KeyLocks.Held held = waitForLock ? settling.lockWithin(key, callBound) : settling.tryLock(key)) {
            if (held == null) return false; // a request, or another settlement, is working on it right now
            Attachment a = journal.get(key).orElse(null);
            if (a == null || !PENDING.contains(a.state())) return true;
            if (health.failingFast()) return false;
            try {
                return switch (a.state()) {
                    case DEL_PENDING -> {
                        if (AddressPool.isPoolKey(key)) yield settler.releasePoolEntry(a);
                        settler.release(a);
                        yield true;
                    }
                    case TAG_PENDING ->
                        settler.tag(a, settler.wasAnswered(key)) != Settler.Tagged.CHANGED
                                || journal.get(key)
                                        .map(r -> !PENDING.contains(r.state()))
                                        .orElse(true);
                    case RETURN_PENDING -> {
                        settler.returnToPool(a);
                        yield true;
                    }
                    case POOL_PENDING -> {
                        if (a.updated().plus(addGrace).isAfter(now)) yield false; // the reservation may be in flight
                        yield keeper.settleRefill(a);
                    }
                    case ADD_PENDING -> {
                        if (a.updated().plus(addGrace).isAfter(now)) yield false; // the POST may be in flight
                        settler.settleUnknownAdd(a);
                        yield true;
                    }
                    default -> true;
                };
            } catch (WapiException | IllegalArgumentException e) {
                // One record that cannot be settled now (grid away, or a value in it the grid
                // will not take) waits its own backoff; it never holds up the records after it.
                Attachment failed = a.withAttempt().withError(e.getMessage());
                settler.commit(a, () -> journal.put(failed));
                Duration wait = Duration.ofMillis(backoff.apply(Math.max(1, failed.attempts())));
                notBefore.put(key, now.plus(wait));
                LOG.log(
                        System.Logger.Level.WARNING,
                        "{0} of {1} not settled, next try in {2}s: {3}",
                        a.state(),
                        key,
                        String.valueOf(wait.toSeconds()),
                        e instanceof WapiException w && w.gridText() != null ? w.gridText() : e.getMessage());
                return false;
            }
        }
    }

    /**
     * Lets the settlements behind answers that are under way finish (bounded by one call's
     * bound: a DEL answered just before a stop still releases now, not at the next start), then
     * stops the passes. Whatever is left is on disk and settles after the next start.
     */
    @Override
    public void close() {
        closing = true;
        int phase = behindInFlight.arrive();
        try {
            behindInFlight.awaitAdvanceInterruptibly(phase, callBound.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (TimeoutException e) {
            LOG.log(
                    System.Logger.Level.WARNING,
                    "stopping with {0} settlement(s) still waiting on the grid; they finish after the next start",
                    String.valueOf(behindInFlight.getUnarrivedParties() - 1));
        }
        behindInFlight.forceTermination();
        passes.close();
    }
}
