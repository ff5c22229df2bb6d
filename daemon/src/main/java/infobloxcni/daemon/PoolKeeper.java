package infobloxcni.daemon;

import infobloxcni.store.Attachment;
import infobloxcni.store.AttachmentKey;
import infobloxcni.store.AttachmentState;
import infobloxcni.wapi.Deadline;
import infobloxcni.wapi.FixedAddress;
import infobloxcni.wapi.VerifiedWrite;
import infobloxcni.wapi.WapiClient;
import infobloxcni.wapi.WapiException;
import infobloxcni.wire.CniError;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Keeps each network's pool at its target, in the background: reserves what is missing (one
 * reservation in flight per network, its intent on disk first, as for an ADD), releases what is
 * beyond the target (a pool that grew during an outage, a target lowered), and settles a refill
 * whose answer was lost by looking for this host's pool entries on the grid. It works only while
 * the grid answers; it never holds up a request.
 */
final class PoolKeeper implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(PoolKeeper.class.getName());
    /** After the grid refused a refill (network full, a refused EA): leave that network alone this long. */
    private static final Duration REFUSED_PAUSE = Duration.ofMinutes(1);
    /** How often the free addresses are checked against the grid (one search per network). */
    private static final Duration VERIFY_EVERY = Duration.ofMinutes(1);

    private final AddressPool pool;
    private final JournalGuard journal;
    private final WapiClient wapi;
    private final GridNetworks networks;
    private final ReservationTags tags;
    private final KeyLocks locks;
    private final Clock clock;
    private final Duration callBound;
    private final Map<String, Instant> pausedUntil = new ConcurrentHashMap<>();
    private final Set<String> toldFull = ConcurrentHashMap.newKeySet();
    private volatile Instant lastVerified = Instant.MIN;
    private final BackgroundPass passes = new BackgroundPass("pool-keeper", this::keepOnce);

    PoolKeeper(
            AddressPool pool,
            JournalGuard journal,
            WapiClient wapi,
            GridNetworks networks,
            ReservationTags tags,
            KeyLocks locks,
            Clock clock,
            Duration callBound,
            Wakeup wakeup) {
        this.pool = pool;
        this.journal = journal;
        this.wapi = wapi;
        this.networks = networks;
        this.tags = tags;
        this.locks = locks;
        this.clock = clock;
        this.callBound = callBound;
        wakeup.runs(passes::runSoon);
    }

    void start(Duration tick) {
        passes.start(tick, tick);
    }

    /** One pass over every network a request has named. */
    void keepOnce() {
        pool.dropShadowed();
        if (wapi.health().failingFast()) return; // nothing can be done on the grid now; the pools serve as they are
        Instant now = clock.instant();
        boolean verify = !now.isBefore(lastVerified.plus(VERIFY_EVERY));
        if (verify) lastVerified = now;
        for (AddressPool.Target target : pool.targets().values()) {
            String network = target.policy().networkName();
            Instant paused = pausedUntil.get(network);
            if (paused != null && now.isBefore(paused)) continue;
            try {
                Deadline.within(callBound, () -> {
                    if (verify
                            && !pool.free(network, target.policy().view(), null).isEmpty()) verify(target);
                    keep(target);
                    return null;
                });
            } catch (WapiException | CniError e) {
                LOG.log(System.Logger.Level.DEBUG, "pool of {0} not kept now: {1}", network, e.getMessage());
            }
        }
    }

    private void keep(AddressPool.Target target) throws CniError {
        String network = target.policy().networkName();
        List<Attachment> free = pool.free(network, target.policy().view(), null);
        if (target.size() == 0 && free.isEmpty()) return; // no pool wanted, none there: not a single grid call
        for (int have = free.size(); have < target.size(); have++) {
            if (!reserveOne(target)) return;
        }
        // Beyond the target (grown during an outage, or the target lowered): the highest addresses go.
        for (int extra = free.size() - target.size(); extra > 0; extra--) {
            Attachment highest = free.get(free.size() - extra);
            releaseSurplus(highest);
        }
    }

    /**
     * Free pool addresses someone changed or deleted on the grid leave the pool before they can
     * be handed out (the tag of one handed out meanwhile is refused by the verified write).
     */
    private void verify(AddressPool.Target target) {
        String network = target.policy().networkName();
        Map<String, FixedAddress> onGrid = wapi
                .findFixedAddresses(target.policy().view(), Map.of("comment", tags.poolComment(network)), Map.of())
                .stream()
                .collect(Collectors.toMap(FixedAddress::ipv4addr, r -> r, (a, b) -> a));
        for (Attachment free : pool.free(network, target.policy().view(), null)) {
            FixedAddress r = onGrid.get(free.address());
            if (r != null && tags.poolClaim(network).matches(r)) continue;
            try (KeyLocks.Held held = locks.tryLock(free.key())) {
                if (held == null || !pool.dropIfFree(free)) continue; // handed out meanwhile: its tag settles it
                LOG.log(
                        System.Logger.Level.WARNING,
                        "pool address {0} of {1} was {2} on the grid: it leaves the pool",
                        free.address(),
                        network,
                        r == null ? "deleted" : "changed");
            }
        }
    }

    /** Reserves one pool address; false when it could not (the grid refused, or an earlier one is unsettled). */
    private boolean reserveOne(AddressPool.Target target) throws CniError {
        String network = target.policy().networkName();
        AttachmentKey intentKey = AddressPool.refillKey(network);
        try (KeyLocks.Held held = locks.tryLock(intentKey)) {
            if (held == null || journal.get(intentKey).isPresent())
                return false; // one in flight; a lost one is settled first
            ReadyNetwork net = networks.ensure(target.policy());
            Attachment intent = Attachment.pending(intentKey, net.view(), null, clock.instant())
                    .withAllocation(
                            null,
                            net.subnet().prefixLength(),
                            net.gateway(),
                            null,
                            net.subnet().toString())
                    .withState(AttachmentState.POOL_PENDING)
                    .withAttempt();
            journal.put(intent);
            try {
                FixedAddress r =
                        wapi.reserveNextAvailableIp(net.view(), net.subnet().toString(), tags.forPool(network));
                journal.put(AddressPool.entry(
                        network,
                        net.view(),
                        r.ipv4addr(),
                        net.subnet().prefixLength(),
                        net.gateway(),
                        r.ref(),
                        net.subnet().toString(),
                        clock.instant()));
                journal.remove(intentKey);
                toldFull.remove(network);
                return true;
            } catch (WapiException.Transient lost) {
                if (lost.mayHaveBeenApplied())
                    journal.put(intent.withError(lost.getMessage())); // settled by looking, later
                else journal.remove(intentKey);
                return false;
            } catch (WapiException refused) {
                journal.remove(intentKey);
                pausedUntil.put(network, clock.instant().plus(REFUSED_PAUSE));
                if (toldFull.add(network)) {
                    LOG.log(
                            System.Logger.Level.WARNING,
                            "pool of network {0} cannot be filled: {1} (tried again in {2} s)",
                            network,
                            refused.gridText() != null ? refused.gridText() : refused.getMessage(),
                            String.valueOf(REFUSED_PAUSE.toSeconds()));
                }
                return false;
            }
        }
    }

    /**
     * Releases a pool address beyond the target, only while it is still this host's free entry:
     * it leaves the pool first, so that it cannot be handed out while it is released; one an ADD
     * took since the pool was listed is that container's now and stays.
     */
    void releaseSurplus(Attachment entry) {
        try (KeyLocks.Held held = locks.tryLock(entry.key())) {
            if (held == null || !pool.dropIfFree(entry)) return;
            VerifiedWrite w = wapi.deleteFixedAddressIf(
                    entry.networkView(),
                    entry.address(),
                    List.of(tags.poolClaim(entry.key().network())));
            if (w.outcome() == VerifiedWrite.Outcome.WRITTEN) {
                LOG.log(
                        System.Logger.Level.INFO,
                        "pool of {0} beyond its target: released {1}",
                        entry.key().network(),
                        entry.address());
            }
        }
    }

    /**
     * A refill whose answer was lost (or a daemon killed mid-call): whatever pool entries of the
     * network the grid holds for this host and the journal lacks are taken into the pool; then
     * the intent goes. Called by the reconciler once the call cannot be in flight any more.
     */
    void settleRefill(Attachment intent) {
        String network = intent.key().network();
        List<FixedAddress> onGrid =
                wapi.findFixedAddresses(intent.networkView(), Map.of("comment", tags.poolComment(network)), Map.of());
        int adopted = 0;
        for (FixedAddress r : onGrid) {
            if (!network.equals(tags.poolNetworkOf(r))) continue;
            if (adoptOrphan(
                    network,
                    r,
                    found -> AddressPool.entry(
                            network,
                            found.networkView(),
                            found.ipv4addr(),
                            intent.prefixLength(),
                            intent.gateway(),
                            found.ref(),
                            found.network() != null ? found.network() : intent.cidr(),
                            clock.instant()),
                    true)) adopted++;
        }
        journal.remove(intent.key());
        if (adopted > 0)
            LOG.log(
                    System.Logger.Level.INFO,
                    "unfinished refill of the pool of {0} had reserved {1} address(es); adopted",
                    network,
                    adopted);
    }

    /**
     * Whether a pool address of this host that a search listed is an orphan (the journal has no
     * record of its address) and, when {@code adopt}, takes it in as the record {@code asRecord}
     * makes of what the grid shows now. A search's answer may be older than a release under way:
     * a surplus release drops its record before its DELETE (under the entry's lock, taken here
     * too), and a container's release of an address never tagged removes its record after its
     * DELETE. So the journal is asked first, then the grid again: only what both still show is
     * an orphan, and a record of an address the grid no longer holds is never made.
     */
    boolean adoptOrphan(
            String network, FixedAddress listed, Function<FixedAddress, Attachment> asRecord, boolean adopt) {
        try (KeyLocks.Held held = locks.tryLock(AddressPool.entryKey(network, listed.ipv4addr()))) {
            if (held == null || pool.isRecorded(listed.networkView(), listed.ipv4addr()))
                return false; // someone is working on it
            FixedAddress now = wapi.findFixedAddressByIp(listed.networkView(), listed.ipv4addr())
                    .orElse(null);
            if (now == null || !tags.poolClaim(network).matches(now)) return false;
            return !adopt || pool.adoptIfUnrecorded(asRecord.apply(now));
        }
    }

    @Override
    public void close() {
        passes.close();
    }
}
