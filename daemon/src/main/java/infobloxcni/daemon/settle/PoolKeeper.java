package infobloxcni.daemon.settle;

import infobloxcni.daemon.cni.Ipv4Subnet;
import infobloxcni.daemon.grid.GridErrors;
import infobloxcni.daemon.grid.GridNetworks;
import infobloxcni.daemon.grid.NetworkRequest;
import infobloxcni.daemon.grid.ReadyNetwork;
import infobloxcni.daemon.grid.ReservationTags;
import infobloxcni.daemon.state.AddressPool;
import infobloxcni.daemon.state.JournalGuard;
import infobloxcni.daemon.state.KeyLocks;
import infobloxcni.store.Attachment;
import infobloxcni.store.AttachmentKey;
import infobloxcni.store.AttachmentState;
import infobloxcni.wapi.Deadline;
import infobloxcni.wapi.FixedAddress;
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
 * reservation in flight per network, its intent on disk first, as for an ADD), marks for release
 * what is beyond the target (a pool that grew during an outage, a target lowered), what is in a
 * subnet the network no longer uses, and the pool of a network no request has named since the
 * start (then releases what is marked, through the {@link Settler}); checks every pool's free
 * addresses against the grid (which is what lets the pool answer while the grid is down:
 * {@link AddressPool#confirm}); and settles a refill whose answer was lost by looking for this
 * host's pool entries on the grid. It works only while the grid answers; it never holds up a
 * request.
 */
public final class PoolKeeper implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(PoolKeeper.class.getName());
    /** After the grid refused a refill (network full, a refused EA): leave that network alone this long. */
    private static final Duration REFUSED_PAUSE = Duration.ofMinutes(1);
    /** How often the free addresses are checked against the grid (one search per network and view). */
    private static final Duration VERIFY_EVERY = Duration.ofMinutes(1);
    /**
     * A pool whose network no request has named since the start, and that no container of this
     * host uses, is released after this long: the network is most likely gone from this host.
     */
    public static final Duration UNNAMED_POOL_GRACE = Duration.ofMinutes(10);

    private final AddressPool pool;
    private final JournalGuard journal;
    private final WapiClient wapi;
    private final GridNetworks networks;
    private final ReservationTags tags;
    private final KeyLocks locks;
    private final Settler settler;
    private final Clock clock;
    private final Duration callBound;
    private final Instant started;
    private final Map<String, Instant> pausedUntil = new ConcurrentHashMap<>();
    private final Set<String> toldFull = ConcurrentHashMap.newKeySet();
    /** Why the grid last refused a network's refill, while it is refused (for status). */
    private final Map<String, String> refusedWhy = new ConcurrentHashMap<>();

    private volatile Instant lastVerified = Instant.MIN;
    private final BackgroundPass passes = new BackgroundPass("pool-keeper", this::keepOnce);

    public PoolKeeper(
            AddressPool pool,
            JournalGuard journal,
            WapiClient wapi,
            GridNetworks networks,
            ReservationTags tags,
            KeyLocks locks,
            Settler settler,
            Clock clock,
            Duration callBound) {
        this.pool = pool;
        this.journal = journal;
        this.wapi = wapi;
        this.networks = networks;
        this.tags = tags;
        this.locks = locks;
        this.settler = settler;
        this.clock = clock;
        this.callBound = callBound;
        this.started = clock.instant();
    }

    public void start(Duration tick) {
        passes.start(tick, tick);
    }

    /** Networks whose refill the grid refuses now, with the grid's words (a full network, a missing EA). */
    public Map<String, String> refusals() {
        return Map.copyOf(refusedWhy);
    }

    /** A pool may need refilling: look now rather than at the next tick. */
    public void signal() {
        passes.runSoon();
    }

    /** One pass: check the pools against the grid when due, keep each named network's at its target, release what is marked. */
    void keepOnce() {
        pool.dropShadowed();
        if (wapi.health().failingFast()) return; // nothing can be done on the grid now; the pools serve as they are
        Instant now = clock.instant();
        if (!now.isBefore(lastVerified.plus(VERIFY_EVERY))) {
            lastVerified = now;
            pool.pooledNetworks()
                    .forEach((network, views) -> views.forEach(view -> bounded(() -> verify(network, view))));
        }
        for (AddressPool.Target target : pool.targets().values()) {
            String network = target.request().networkName();
            Instant paused = pausedUntil.get(network);
            if (paused != null && now.isBefore(paused)) continue;
            bounded(() -> keep(target));
        }
        if (!now.isBefore(started.plus(UNNAMED_POOL_GRACE))) markUnnamed();
        for (Attachment marked : journal.all()) {
            if (AddressPool.isPoolKey(marked.key())
                    && marked.state() == AttachmentState.DEL_PENDING
                    && marked.address() != null) bounded(() -> settler.releasePoolEntry(marked));
        }
    }

    /** One piece of the keeper's work on the grid. */
    private interface Work {
        void run() throws CniError;
    }

    /** One network's work on the grid, bounded; what fails waits for the next pass. */
    private void bounded(Work work) {
        try {
            Deadline.within(callBound, () -> {
                work.run();
                return null;
            });
        } catch (WapiException | CniError e) {
            LOG.log(System.Logger.Level.DEBUG, "pool work not done now: {0}", e.getMessage());
        }
    }

    private void keep(AddressPool.Target target) throws CniError {
        NetworkRequest request = target.request();
        String network = request.networkName();
        List<Attachment> all = pool.free(network, null, null);
        if (target.size() == 0 && all.isEmpty()) return; // no pool wanted, none there: not a single grid call
        ReadyNetwork net = networks.ensure(request);
        String cidr = net.subnet().toString();
        // Another view or subnet than the network's now (its netconf changed): not this pool's any more.
        for (Attachment old : all) {
            if (!net.view().equals(old.networkView()) || !cidr.equals(old.cidr()))
                pool.markForRelease(
                        old,
                        "subnet " + old.cidr() + " in view " + old.networkView() + " is no longer " + network + "'s ("
                                + cidr + " in view " + net.view() + ")");
            else if (!request.scope().allows(old.address()))
                pool.markForRelease(old, "it is outside the network's range or excluded (ipam.range-*, ipam.exclude)");
        }
        List<Attachment> free = pool.free(network, net.view(), cidr).stream()
                .filter(a -> request.scope().allows(a.address()))
                .toList();
        for (int have = free.size(); have < target.size(); have++) {
            if (!reserveOne(target, net)) return;
        }
        // Beyond the target (grown during an outage, or the target lowered): the highest addresses go.
        for (int extra = free.size() - target.size(); extra > 0; extra--) {
            pool.markForRelease(free.get(free.size() - extra), "beyond its target of " + target.size());
        }
    }

    /**
     * Networks whose pool no request has named since the start and that no container record of
     * this host uses: their free addresses are marked for release (a network removed from this
     * host keeps no addresses on the grid for ever).
     */
    private void markUnnamed() {
        Map<String, AddressPool.Target> named = pool.targets();
        Set<String> inUse = journal.all().stream()
                .filter(a -> !AddressPool.isInternalKey(a.key()))
                .map(a -> a.key().network())
                .collect(Collectors.toSet());
        for (String network : pool.pooledNetworks().keySet()) {
            if (named.containsKey(network) || inUse.contains(network)) continue;
            for (Attachment free : pool.free(network, null, null)) {
                pool.markForRelease(
                        free,
                        "no request has named network " + network + " in the " + UNNAMED_POOL_GRACE.toMinutes()
                                + " minutes since the daemon started");
            }
        }
    }

    /**
     * Checks a network's free pool addresses in one view against the grid: those still this
     * host's pool entries are confirmed (and may be handed out while the grid is down); those
     * someone changed or deleted leave the pool before they can be handed out; and this host's
     * pool entries no record names (a path that lost one) are taken in.
     *
     * <p>The listing may be older than a record: another thread may have put an entry in the
     * pool since (a container's release finding its address never tagged, a lost refill
     * settled). So an entry the listing lacks is looked up again, under its lock, before it
     * goes: dropping one on a stale listing left the grid's entry with no record (an orphan the
     * adversarial test found under stress-ng).
     */
    private void verify(String network, String view) {
        verifyAgainst(
                network,
                view,
                wapi.findFixedAddresses(view, Map.of("comment", tags.poolComment(network)), Map.of()).stream()
                        .collect(Collectors.toMap(FixedAddress::ipv4addr, r -> r, (a, b) -> a)));
    }

    /** {@link #verify} against a listing of the network's pool entries in the view, by address (it may be stale). */
    void verifyAgainst(String network, String view, Map<String, FixedAddress> onGrid) {
        for (Attachment free : pool.free(network, view, null)) {
            FixedAddress listed = onGrid.get(free.address());
            if (listed != null && tags.isPoolEntry(listed, network)) {
                pool.confirm(view, free.address());
                continue;
            }
            try (KeyLocks.Held held = locks.tryLock(free.key())) {
                if (held == null) continue; // handed out meanwhile: its tag settles it
                FixedAddress now =
                        wapi.findFixedAddressByIp(view, free.address()).orElse(null);
                if (now != null && tags.isPoolEntry(now, network)) {
                    pool.confirm(view, free.address());
                    continue;
                }
                if (!pool.dropIfFree(free)) continue;
                LOG.log(
                        System.Logger.Level.WARNING,
                        "pool address {0} of {1} was {2} on the grid: it leaves the pool",
                        free.address(),
                        network,
                        now == null ? "deleted" : "changed (" + Settler.describe(now) + ")");
            }
        }
        adoptUnrecorded(network, onGrid.values());
    }

    /**
     * This host's pool entries of a network that a search listed and no record names: taken into
     * the pool (confirmed on the grid once more first, see {@link #adoptOrphan}), with a warning,
     * since the path that lost the record is a defect. A refill of the network still unsettled
     * is left to {@link #settleRefill}.
     */
    private void adoptUnrecorded(String network, java.util.Collection<FixedAddress> listed) {
        for (FixedAddress r : listed) {
            if (!network.equals(tags.poolNetworkOf(r)) || pool.isRecorded(r.networkView(), r.ipv4addr())) continue;
            if (journal.get(AddressPool.refillKey(network)).isPresent()) return;
            if (adoptOrphan(network, r, found -> asPoolEntry(network, found, null, null), true))
                LOG.log(
                        System.Logger.Level.WARNING,
                        "pool address {0} of {1} was on the grid with no record: taken into the pool",
                        r.ipv4addr(),
                        network);
        }
    }

    /** The pool record of this host's pool entry as the grid shows it (gateway and subnet from the refill when known). */
    public Attachment asPoolEntry(String network, FixedAddress found, String gateway, String cidr) {
        String subnet = found.network() != null ? found.network() : cidr;
        int prefix = subnet == null ? 32 : Ipv4Subnet.parse(subnet).prefixLength();
        return AddressPool.entry(
                network, found.networkView(), found.ipv4addr(), prefix, gateway, found.ref(), subnet, clock.instant());
    }

    /** Reserves one pool address; false when it could not (the grid refused, or an earlier one is unsettled). */
    private boolean reserveOne(AddressPool.Target target, ReadyNetwork net) {
        String network = target.request().networkName();
        AttachmentKey intentKey = AddressPool.refillKey(network);
        try (KeyLocks.Held held = locks.tryLock(intentKey)) {
            if (held == null || journal.get(intentKey).isPresent())
                return false; // one in flight; a lost one is settled first
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
                FixedAddress r = wapi.reserveNextAvailableIp(
                        net.view(), net.source(target.request().scope()), tags.forPool(network));
                journal.put(AddressPool.entry(
                        network,
                        net.view(),
                        r.ipv4addr(),
                        net.subnet().prefixLength(),
                        net.gateway(),
                        r.ref(),
                        net.subnet().toString(),
                        clock.instant()));
                pool.confirm(net.view(), r.ipv4addr());
                journal.remove(intentKey);
                toldFull.remove(network);
                refusedWhy.remove(network);
                return true;
            } catch (WapiException.Transient lost) {
                if (lost.mayHaveBeenApplied())
                    journal.put(intent.withError(lost.getMessage())); // settled by looking, later
                else journal.remove(intentKey);
                return false;
            } catch (WapiException refused) {
                journal.remove(intentKey);
                if (GridErrors.networkGone(refused)) networks.forget(target.request()); // made sure of again next pass
                pausedUntil.put(network, clock.instant().plus(REFUSED_PAUSE));
                refusedWhy.put(network, refused.gridText() != null ? refused.gridText() : refused.getMessage());
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
     * Releases a free pool address now (marked first, so that it cannot be handed out while it
     * is released, and so that a release whose answer is lost is replayed); one an ADD took since
     * the pool was listed is that container's now and stays.
     */
    void releaseSurplus(Attachment entry) {
        if (!pool.markForRelease(entry, "beyond its target")) return;
        settler.releasePoolEntry(journal.get(entry.key()).orElseThrow());
    }

    /**
     * A refill whose answer was lost (or a daemon killed mid-call): whatever pool entries of the
     * network the grid holds for this host and the journal lacks are taken into the pool; then
     * the intent goes. Called by the reconciler once the call cannot be in flight any more.
     * An entry at an address a container's release still names (its DELETE answered 5xx, the
     * refill handed the freed address back) cannot be adopted yet: the intent waits for that
     * release, and is settled again after it. It used to go, leaving the entry with no record.
     *
     * @return true when the intent is settled (gone); false when it waits for a release
     */
    public boolean settleRefill(Attachment intent) {
        String network = intent.key().network();
        List<FixedAddress> onGrid =
                wapi.findFixedAddresses(intent.networkView(), Map.of("comment", tags.poolComment(network)), Map.of());
        int adopted = 0;
        boolean waits = false;
        for (FixedAddress r : onGrid) {
            if (!network.equals(tags.poolNetworkOf(r))) continue;
            if (releaseNames(r.networkView(), r.ipv4addr())) {
                waits = true;
                continue;
            }
            if (adoptOrphan(network, r, found -> asPoolEntry(network, found, intent.gateway(), intent.cidr()), true))
                adopted++;
        }
        if (waits) return false;
        journal.remove(intent.key());
        if (adopted > 0)
            LOG.log(
                    System.Logger.Level.INFO,
                    "unfinished refill of the pool of {0} had reserved {1} address(es); adopted",
                    network,
                    adopted);
        return true;
    }

    /** Whether a container's release (not a pool entry's own record) still names this address. */
    private boolean releaseNames(String view, String address) {
        for (Attachment a : journal.all()) {
            if (AddressPool.isPoolKey(a.key()) || !address.equals(a.address()) || !view.equals(a.networkView()))
                continue;
            if (a.state() == AttachmentState.DEL_PENDING || a.state() == AttachmentState.RETURN_PENDING) return true;
        }
        return false;
    }

    /**
     * Whether a pool address of this host that a search listed is an orphan (the journal has no
     * record of its address) and, when {@code adopt}, takes it in as the record {@code asRecord}
     * makes of what the grid shows now. A search's answer may be older than a release under way:
     * a pool entry's release drops its record after its DELETE, and a container's release of an
     * address never tagged removes its record after its DELETE. So the journal is asked first,
     * then the grid again: only what both still show is an orphan, and a record of an address the
     * grid no longer holds is never made. What is adopted was just confirmed by the grid;
     * {@code asRecord} may answer null: nothing is to be made of it.
     */
    public boolean adoptOrphan(
            String network, FixedAddress listed, Function<FixedAddress, Attachment> asRecord, boolean adopt) {
        try (KeyLocks.Held held = locks.tryLock(AddressPool.entryKey(network, listed.ipv4addr()))) {
            if (held == null || pool.isRecorded(listed.networkView(), listed.ipv4addr()))
                return false; // someone is working on it
            FixedAddress now = wapi.findFixedAddressByIp(listed.networkView(), listed.ipv4addr())
                    .orElse(null);
            if (now == null || !tags.isPoolEntry(now, network)) return false;
            if (!adopt) return true;
            Attachment record = asRecord.apply(now);
            if (record == null || !pool.adoptIfUnrecorded(record)) return false;
            pool.confirm(now.networkView(), now.ipv4addr());
            return true;
        }
    }

    @Override
    public void close() {
        passes.close();
    }
}
