package infobloxcni.daemon.ipam;

import infobloxcni.daemon.cni.CniRequest;
import infobloxcni.daemon.cni.LogText;
import infobloxcni.daemon.cni.MacAddresses;
import infobloxcni.daemon.cni.NetConf;
import infobloxcni.daemon.config.DaemonConfig;
import infobloxcni.daemon.grid.GridErrors;
import infobloxcni.daemon.grid.GridNetworks;
import infobloxcni.daemon.grid.GridRecords;
import infobloxcni.daemon.grid.NetworkRequest;
import infobloxcni.daemon.settle.PoolKeeper;
import infobloxcni.daemon.settle.Reconciler;
import infobloxcni.daemon.settle.Settler;
import infobloxcni.daemon.state.AddressPool;
import infobloxcni.daemon.state.JournalGuard;
import infobloxcni.daemon.state.KeyLocks;
import infobloxcni.store.Attachment;
import infobloxcni.store.AttachmentKey;
import infobloxcni.store.AttachmentState;
import infobloxcni.wapi.Deadline;
import infobloxcni.wapi.FixedAddress;
import infobloxcni.wapi.GridHealth;
import infobloxcni.wapi.WapiClient;
import infobloxcni.wapi.WapiException;
import infobloxcni.wire.CniError;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The IPAM verbs. Every change to the grid follows the same rules: the intent is on disk in the
 * journal before the grid hears of it, and the outcome after; and an address is answered to a
 * container only once the grid has confirmed, in that ADD, that it is reserved for this container
 * (a POST that reserved it, or the verified tag of a pool address). Only while the grid is known
 * to be down is an ADD answered with no grid call, from a pool address the grid confirmed since
 * the daemon started: the documented outage trade-off ({@code docs/architecture.md}). When an
 * outcome is unknown (the grid may have applied a write whose answer we never saw), the next
 * attempt looks on the grid before it writes again. The grid work behind an answer (a DEL's
 * release) is the {@link Reconciler}'s, through the {@link Settler}, which applies the
 * ownership rule for both.
 */
public final class Ipam {
    private static final System.Logger LOG = System.getLogger(Ipam.class.getName());
    /** GC's intents written at once (each waits for its fsync; side by side they share one). */
    private static final int GC_WRITERS = 64;

    /** Networks and their unknown fields already logged under --lenient-netconf: once each, not once an ADD. */
    private final Set<String> warnedUnknown = java.util.concurrent.ConcurrentHashMap.newKeySet();

    private static final int MAX_WARNED = 1024;

    /** Replaced whole by a reload ({@link #reconfigure}): a request reads one configuration throughout. */
    private volatile DaemonConfig config;

    private final WapiClient wapi;
    private final JournalGuard journal;
    private final GridNetworks networks;
    private final Settler settler;
    private final AddressPool pool;
    private final KeyLocks locks;
    private final KeyLocks settling;
    private final Reconciler reconciler;
    private final PoolKeeper keeper;
    private final Allocator allocator;
    private final Clock clock;
    /** How long an ADD for an attachment the journal does not know waits for the start-up merge with the grid. */
    private final Duration syncWait;

    /**
     * @param locks      a request's hold on its attachment's record (ADD, DEL, CHECK, GC)
     * @param settling   grid work on an attachment (a request's, or a settlement's behind an answer): taken before
     *                   {@code locks}, never while holding it, so a DEL that only writes its intent never waits for
     *                   grid work in flight
     * @param reconciler settles a record behind its answer (a DEL's release, a tag after an outage)
     * @param keeper     signalled when a pool may need refilling
     */
    public Ipam(
            DaemonConfig config,
            WapiClient wapi,
            JournalGuard journal,
            GridNetworks networks,
            Settler settler,
            AddressPool pool,
            KeyLocks locks,
            KeyLocks settling,
            Reconciler reconciler,
            PoolKeeper keeper,
            Clock clock) {
        this.config = config;
        this.wapi = wapi;
        this.journal = journal;
        this.networks = networks;
        this.settler = settler;
        this.pool = pool;
        this.locks = locks;
        this.settling = settling;
        this.reconciler = reconciler;
        this.keeper = keeper;
        this.allocator = new Allocator(wapi, journal, networks, settler, pool, reconciler, keeper, clock);
        this.clock = clock;
        // Bounded: with the grid away the ADD cannot succeed anyway, and should say so soon.
        Duration callTimeout = config.wapi().callTimeout();
        this.syncWait = callTimeout.compareTo(Duration.ofSeconds(5)) < 0 ? callTimeout : Duration.ofSeconds(5);
    }

    // ------------------------------------------------------------------------------------- ADD

    /** An ADD's answer: the CNI result, and the attachment it reports. */
    public record Added(byte[] result, Attachment attachment) {}

    /**
     * ADD, its grid calls all within the ADD bound ({@link DaemonConfig.VerbBounds}). The netconf
     * is checked against the daemon's settings before any grid write, and the MAC to record is
     * looked up here, once, before the attachment's lock is taken (a slow lookup holds up no
     * other request); everything after reads it from the request.
     */
    public Added add(CniRequest request) throws CniError {
        checkKnownFields(request.netConf());
        request.netConf().checkEffective(config.prefixLength(), config.networkContainers());
        CniRequest withMac = request.withMac(MacAddresses.of(request));
        return Deadline.within(config.bounds().add(), () -> addWithin(withMac));
    }

    /**
     * An ADD or CHECK whose netconf carries {@code ipam} fields this driver does not know is refused
     * (7, naming each and the known field nearest to it), unless {@code --lenient-netconf}, which
     * logs them. DEL, GC and STATUS are never refused for them: a runtime must always be able to
     * clean up, and a status is no write.
     */
    private void checkKnownFields(NetConf conf) throws CniError {
        String problem = conf.unknownFieldProblem();
        if (problem == null) return;
        if (!config.lenientNetconf()) throw new CniError(CniError.INVALID_NETCONF, problem);
        if (warnedUnknown.size() < MAX_WARNED && warnedUnknown.add(conf.name() + "\n" + conf.unknownIpamFields()))
            LOG.log(System.Logger.Level.WARNING, "network {0}: {1}", LogText.bare(conf.name()), problem);
    }

    private Added addWithin(CniRequest request) throws CniError {
        NetConf conf = request.netConf();
        AttachmentKey key = keyOf(request);
        NetworkRequest network = boundedNetworkOf(conf);
        pool.observe(network, poolTargetOf(conf));
        try (KeyLocks.Held gridWork = settlingLock(key);
                KeyLocks.Held held = locks.lock(key)) {
            Attachment known = journal.get(key).orElse(null);
            if (known == null && !down()) {
                // The journal may have lost this attachment: wait (bounded) for the start-up merge with the grid.
                // Not while the grid is known down: the merge cannot happen then, and the ADD fails or is
                // answered from the pool at once instead of after the whole wait.
                journal.awaitGridSync(syncWait);
                known = journal.get(key).orElse(null);
            }
            if (known != null && holdsAnotherThanRequested(known, request)) {
                if (known.state() != AttachmentState.RETURN_PENDING) throw holdsAnother(known, request);
                // its earlier DEL gave the address back to the pool; asked for another, that one is released instead
                journal.put(known.withState(AttachmentState.DEL_PENDING));
                known = journal.get(key).orElseThrow();
            }
            if (known != null) {
                switch (known.state()) {
                    case ALLOCATED -> {
                        // A repeated ADD (a runtime retrying after a timeout): the grid confirmed it for this ADD's
                        // first answer. Same answer, no grid call, unless the grid has since given it to another.
                        if (Settler.conflicted(known)) throw conflictOf(known);
                        return allocator.added(conf, known, network);
                    }
                    case TAG_PENDING, RETURN_PENDING -> {
                        Optional<Added> again = allocator.confirmHeld(conf, network, known, request);
                        if (again.isPresent()) return again.get();
                        known = null; // not ours any more: a new address
                    }
                    case DEL_PENDING -> {
                        // The earlier DEL's release goes first: the attachment must not hold two addresses.
                        if (down()) settler.detach(known); // until the grid is back, under a key of its own
                        else releaseNow(known);
                        known = null;
                    }
                    default -> {} // ADD_PENDING: an earlier attempt's outcome is unknown; looked for below
                }
            }
            if (known == null && request.requested() == null) {
                Optional<Added> fromPool = allocator.fromPool(conf, network, key, request);
                if (fromPool.isPresent()) return fromPool.get();
                if (down()) throw allocator.downAndNoPool(network);
            }
            if (down() && request.requested() != null) throw downAndRequested(request);
            return allocator.reserve(conf, network, request, known);
        }
    }

    /** Whether the attachment holds (or is giving back) an address other than the one this ADD asks for. */
    private static boolean holdsAnotherThanRequested(Attachment known, CniRequest request) {
        if (request.requested() == null || known.address() == null) return false;
        return switch (known.state()) {
            case ALLOCATED, TAG_PENDING, RETURN_PENDING ->
                !known.address().equals(request.requested().text());
            default -> false;
        };
    }

    /** A repeated ADD that asks for another address than the one the attachment holds (7, naming the field). */
    private static CniError holdsAnother(Attachment known, CniRequest request) {
        return new CniError(
                CniError.INVALID_NETCONF,
                "field '" + request.requested().field() + "': asks for "
                        + request.requested().text()
                        + ", but container " + known.key().containerId() + " on "
                        + known.key().ifName()
                        + " holds " + known.address() + " in network "
                        + known.key().network()
                        + " already; DEL it before asking for another address");
    }

    /** A requested address is reserved by name on the grid, which is down: the pool cannot stand in (11). */
    private CniError downAndRequested(CniRequest request) {
        GridHealth health = wapi.health();
        return new CniError(
                CniError.TRY_AGAIN_LATER,
                "the grid is down since " + health.since()
                        + (health.lastError() == null ? "" : " (" + health.lastError() + ")") + " and "
                        + request.requested().text() + " (asked for in '"
                        + request.requested().field()
                        + "') can only be reserved on the grid; try again");
    }

    /**
     * The attachment's grid work is ours for this ADD: a settlement behind an earlier answer
     * (a release, a tag) finishes first, within the ADD's bound.
     */
    private KeyLocks.Held settlingLock(AttachmentKey key) throws CniError {
        KeyLocks.Held held = settling.lockWithin(key, Duration.ofNanos(Math.max(0, Deadline.remainingNanos())));
        if (held == null) {
            throw new CniError(
                    CniError.TRY_AGAIN_LATER,
                    "the grid is still working on an earlier call for container " + key.containerId() + " on "
                            + key.ifName() + "; try again");
        }
        return held;
    }

    /** Whether the grid is known to be down: calls fail at once, and the pool answers alone. */
    private boolean down() {
        return wapi.health().failingFast();
    }

    /** An address the grid gives to someone else since it was answered from the pool during an outage. */
    private static CniError conflictOf(Attachment a) {
        return new CniError(
                CniError.RESERVATION_MISMATCH,
                a.address() + " was answered to container " + a.key().containerId()
                        + " from the pool while the grid was down, and the grid now gives it to someone else: "
                        + a.lastError().substring(Settler.CONFLICT.length())
                        + "; delete the container and add it again");
    }

    /** Releases now or fails with "try again": used where the release must finish first. */
    private void releaseNow(Attachment pending) throws CniError {
        try {
            settler.release(pending);
        } catch (WapiException e) {
            throw GridErrors.toCni(
                    e, "finishing the earlier release of " + pending.key().containerId());
        }
    }

    // ------------------------------------------------------------------------------------- DEL

    /**
     * Lets this attachment's address go, and answers as soon as that intent is on disk: the
     * release on the grid (or the return to this host's pool) runs behind the answer, as it
     * does when the grid is away. Nothing in the CNI rules needs the grid's answer first: a DEL
     * must succeed when the address is already gone and may be repeated, and the address stays
     * this attachment's on the grid until the release lands, so nobody else can be given it
     * early. A DEL never waits for grid work in flight: it takes only the record's lock, which no
     * settlement holds across a grid call. With a DEL bound set ({@code --del-timeout}), the
     * answer waits that long for the release. Returns what the journal knew of the attachment
     * (null: nothing), for the operation's log line.
     */
    public Attachment del(CniRequest request) throws CniError {
        AttachmentKey key = keyOf(request);
        NetworkRequest network = networkOf(request.netConf());
        int target = poolTargetOf(request.netConf());
        observeIfBounded(network, target);
        Attachment known;
        try (KeyLocks.Held held = locks.lock(key)) {
            known = journal.get(key).orElse(null);
            boolean pooled = known != null
                    && pool.giveBack(
                            asRequestedBy(request, known),
                            target,
                            allocator.subnetOf(network),
                            down(),
                            clock.instant());
            if (pooled) keeper.signal();
            else releaseIntent(key, known, network);
        }
        CompletableFuture<Void> released = reconciler.settleBehind(key); // it takes the lock once this DEL lets it go
        Duration wait = config.bounds().del();
        if (!wait.isZero()) {
            try {
                released.get(wait.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException stillOnTheGrid) {
                LOG.log(System.Logger.Level.INFO, "release of {0} goes on behind the answer", key);
            } catch (ExecutionException impossible) {
                throw new IllegalStateException(impossible);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return known;
    }

    /**
     * The record as a DEL sees it: an address this DEL's request names (the runtime passes its
     * ADD's {@code ips} again) is a requested one even when the record does not say so (rebuilt
     * from the grid after the journal was lost), and goes back to the grid, not to the pool.
     */
    private static Attachment asRequestedBy(CniRequest request, Attachment known) {
        boolean named =
                request.requested() != null && request.requested().text().equals(known.address());
        return named ? known.withRequested(true) : known;
    }

    /**
     * Puts DEL_PENDING on disk for this attachment (known to the journal or not) and returns it,
     * with the subnet its release is bounded to: the record's, else the netconf's, else the one
     * last made sure of for the network (unknown: only reservations with this host's owner comment
     * are released, never the original driver's, which name no network). Key lock held.
     */
    private Attachment releaseIntent(AttachmentKey key, Attachment known, NetworkRequest network) {
        if (known != null && known.state() == AttachmentState.DEL_PENDING)
            return known; // a repeated DEL: already on disk
        Attachment intent = known != null
                ? known
                : Attachment.pending(key, network.view(), MacAddresses.NONE, clock.instant())
                        .withAllocation(null, 0, null, null, allocator.subnetOf(network));
        if (intent.cidr() == null && allocator.subnetOf(network) != null)
            intent = intent.withAllocation(
                    intent.address(),
                    intent.prefixLength(),
                    intent.gateway(),
                    intent.ref(),
                    allocator.subnetOf(network));
        journal.put(intent.withState(AttachmentState.DEL_PENDING));
        return journal.get(key).orElseThrow();
    }

    // ----------------------------------------------------------------------------------- CHECK

    public void check(CniRequest request) throws CniError {
        Deadline.within(config.wapi().callTimeout(), () -> {
            checkWithin(request);
            return null;
        });
    }

    private void checkWithin(CniRequest request) throws CniError {
        checkKnownFields(request.netConf());
        AttachmentKey key = keyOf(request);
        List<String> expected = request.netConf().prevResultAddresses();
        if (expected.isEmpty())
            throw new CniError(CniError.INVALID_NETCONF, "field 'prevResult' holds no address to check");
        NetworkRequest network = boundedNetworkOf(request.netConf());
        try (KeyLocks.Held held = locks.lock(key)) {
            Attachment known = journal.get(key)
                    .filter(a -> a.state() == AttachmentState.ALLOCATED || a.state() == AttachmentState.TAG_PENDING)
                    .orElse(null);
            if (known != null && Settler.conflicted(known)) throw conflictOf(known);
            Optional<FixedAddress> onGrid;
            try {
                onGrid = reservationFor(key, known, expected, network);
            } catch (WapiException e) {
                throw GridErrors.toCni(e, "checking the reservation of " + key.containerId());
            }
            if (onGrid.isEmpty()) {
                throw new CniError(
                        CniError.RESERVATION_MISMATCH,
                        "the grid holds no reservation for container " + key.containerId() + " on " + key.ifName()
                                + " in network " + key.network());
            }
            String address = onGrid.get().ipv4addr();
            boolean listed = expected.stream().anyMatch(e -> e.equals(address) || e.startsWith(address + "/"));
            if (!listed) {
                throw new CniError(
                        CniError.RESERVATION_MISMATCH,
                        "prevResult says " + expected + " but the grid reserves " + address + " for container "
                                + key.containerId());
            }
            if (known == null) adoptChecked(key, onGrid.get(), request);
        }
    }

    /**
     * What the grid holds for this attachment now: at the journal's address, if it is still ours
     * (a pool address handed out and not tagged yet still shows the pool's tag: that is this
     * attachment's too); else at an address the runtime's prevResult names, if it is ours there
     * (the original driver's reservations included); else the first a search by VM ID finds.
     */
    private Optional<FixedAddress> reservationFor(
            AttachmentKey key, Attachment known, List<String> expected, NetworkRequest network) {
        if (known != null && known.address() != null) {
            boolean untagged = known.state() == AttachmentState.TAG_PENDING;
            Optional<FixedAddress> at = wapi.findFixedAddressByIp(known.networkView(), known.address())
                    .filter(r -> settler.tags().owns(r, key)
                            || untagged && settler.tags().isPoolEntry(r, key.network()));
            if (at.isPresent()) return at;
        }
        if (known == null) {
            for (String address : expected) {
                Optional<FixedAddress> at = wapi.findFixedAddressByIp(network.view(), address.replaceFirst("/.*", ""))
                        .filter(r -> settler.tags().owns(r, key));
                if (at.isPresent()) return at;
            }
        }
        return settler.findOnGrid(key, network.view(), null).stream().findFirst();
    }

    /** CHECK proved a reservation the journal did not know (e.g. made by the original driver): remember it. */
    private void adoptChecked(AttachmentKey key, FixedAddress reservation, CniRequest request) {
        String gateway = request.netConf()
                .prevResult()
                .path("ips")
                .path(0)
                .path("gateway")
                .asText(null);
        journal.put(GridRecords.adopted(key, reservation, gateway, clock.instant()));
        pool.confirm(reservation.networkView(), reservation.ipv4addr());
    }

    // ---------------------------------------------------------------------------------- STATUS

    /**
     * 0 while an ADD for the network can succeed: the grid answers, or it is down and the pool
     * has an address the grid confirmed since the start. 50 otherwise, with the reason. A grid
     * known to be down answers at once; else one light probe, bounded like a DEL, says whether it
     * answers.
     */
    public void status(CniRequest request) throws CniError {
        GridHealth health = wapi.health();
        NetworkRequest network =
                request.netConf() != null && request.netConf().name() != null ? networkOf(request.netConf()) : null;
        if (network != null) observeIfBounded(network, poolTargetOf(request.netConf()));
        if (health.failingFast()) {
            if (network != null) {
                boolean answerable =
                        pool.free(network.networkName(), network.view(), allocator.subnetOf(network)).stream()
                                .anyMatch(a -> pool.isConfirmed(a.networkView(), a.address()));
                if (answerable) return;
            }
            throw new CniError(
                    CniError.STATUS_CANNOT_ADD,
                    "cannot allocate: the grid is down since " + health.since()
                            + (health.lastError() == null ? "" : " (" + health.lastError() + ")"));
        }
        try {
            Deadline.within(config.bounds().statusProbe(), () -> {
                wapi.probe();
                return null;
            });
        } catch (WapiException e) {
            throw new CniError(CniError.STATUS_CANNOT_ADD, "cannot allocate: " + e.getMessage());
        }
    }

    // -------------------------------------------------------------------------------------- GC

    /**
     * Lets go every attachment of this network that the runtime no longer lists, in the journal
     * and among this host's reservations on the grid, and answers once those intents are on disk:
     * the releases run behind the answer, as a DEL's do (thousands of stale attachments must not
     * make the runtime wait for thousands of grid calls). Fails (11) only when this host's
     * reservations could not be listed on the grid; what the journal knew is queued even then.
     */
    public void gc(CniRequest request) throws CniError {
        Deadline.within(config.wapi().callTimeout(), () -> {
            gcWithin(request);
            return null;
        });
    }

    private void gcWithin(CniRequest request) throws CniError {
        NetConf conf = request.netConf();
        if (conf.validAttachments() == null) {
            // The spec requires the key; without it "nothing is valid" would release every container of the network.
            throw new CniError(
                    CniError.INVALID_NETCONF,
                    "field 'cni.dev/valid-attachments' is required for GC (an empty list means "
                            + "no attachment is valid); nothing was released");
        }
        Set<String> valid = new HashSet<>();
        conf.validAttachments().forEach(a -> valid.add(a.containerId() + "/" + a.ifName()));
        NetworkRequest network = networkOf(conf);
        Set<AttachmentKey> stale = new HashSet<>();
        for (Attachment a : journal.all()) {
            if (AddressPool.isInternalKey(a.key()) || a.state() == AttachmentState.RETURN_PENDING)
                continue; // pool entries and detached releases are never collected
            if (a.key().network().equals(conf.name())
                    && !valid.contains(a.key().containerId() + "/" + a.key().ifName())) stale.add(a.key());
        }
        String listing = null;
        try {
            for (String regex : settler.tags().hostCommentRegexes(conf.name())) {
                for (FixedAddress r : wapi.findFixedAddresses(network.view(), Map.of("comment~", regex), Map.of())) {
                    AttachmentKey key = settler.tags().keyOf(r);
                    if (key != null && !valid.contains(key.containerId() + "/" + key.ifName())) stale.add(key);
                }
            }
        } catch (WapiException e) {
            listing = e.getMessage();
        }
        // The intents are written side by side, so that the journal's group commit makes one fsync serve many.
        java.util.concurrent.atomic.AtomicInteger queued = new java.util.concurrent.atomic.AtomicInteger();
        try (var writers = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            java.util.concurrent.Semaphore atOnce = new java.util.concurrent.Semaphore(GC_WRITERS);
            for (AttachmentKey key : stale) {
                atOnce.acquireUninterruptibly();
                writers.execute(() -> {
                    try (KeyLocks.Held held = locks.lock(key)) {
                        Attachment known = journal.get(key).orElse(null);
                        if (known != null && known.state() == AttachmentState.ADD_PENDING)
                            return; // an ADD in flight owns it
                        releaseIntent(key, known, network);
                        queued.incrementAndGet();
                    } finally {
                        atOnce.release();
                    }
                });
            }
        }
        if (queued.get() > 0) {
            LOG.log(
                    System.Logger.Level.INFO,
                    "GC of {0}: {1} attachment(s) queued for release",
                    conf.name(),
                    String.valueOf(queued.get()));
            reconciler.nudge();
        }
        if (listing != null) {
            throw new CniError(
                    CniError.TRY_AGAIN_LATER,
                    "GC could not list this host's reservations on the grid (" + queued.get()
                            + " attachment(s) the journal knew are queued for release)",
                    listing);
        }
    }

    // -------------------------------------------------------------------------------- helpers

    static AttachmentKey keyOf(CniRequest request) {
        return new AttachmentKey(request.netConf().name(), request.containerId(), request.ifName());
    }

    /** The pool size the netconf asks for, else the daemon's. */
    int poolTargetOf(NetConf conf) {
        return conf.poolSize() >= 0 ? conf.poolSize() : config.poolSize();
    }

    /** The daemon's pool size, for networks no request has named since the start. */
    public int defaultPoolSize() {
        return config.poolSize();
    }

    /**
     * A reload's settings, from the next request on (see ConfigChanges for which it may change);
     * a request under way keeps the ones it started with where it read them once.
     */
    public void reconfigure(DaemonConfig next) {
        config = next;
    }

    public AddressPool pool() {
        return pool;
    }

    /**
     * The network an ADD or CHECK asks for, refused (7, naming the field) when it lies outside
     * what {@code --allowed-views} and {@code --allowed-subnets} let CNI callers ask the grid for.
     */
    private NetworkRequest boundedNetworkOf(NetConf conf) throws CniError {
        NetworkRequest network = networkOf(conf);
        String problem = config.requestBounds().problem(network);
        if (problem != null) throw new CniError(CniError.INVALID_NETCONF, problem);
        return network;
    }

    /**
     * Starts keeping a pool for a DEL's or STATUS's network, unless it lies out of bounds: those are
     * still answered (what this host recorded is released) but make nothing new on the grid.
     */
    private void observeIfBounded(NetworkRequest network, int target) {
        if (config.requestBounds().problem(network) == null) pool.observe(network, target);
    }

    /** The network a netconf asks for, merged with the daemon's defaults (the netconf wins). */
    NetworkRequest networkOf(NetConf conf) {
        return new NetworkRequest(
                conf.networkView() != null ? conf.networkView() : config.networkView(),
                conf.name(),
                conf.subnet(),
                conf.networkContainers().isEmpty() ? config.networkContainers() : conf.networkContainers(),
                conf.prefixLength() > 0 ? conf.prefixLength() : config.prefixLength(),
                conf.gateway(),
                conf.scope());
    }

    public JournalGuard journal() {
        return journal;
    }

    /** How many records the journal holds whose address the grid gave to someone else (for status). */
    public static List<Attachment> conflicts(List<Attachment> records) {
        List<Attachment> out = new ArrayList<>();
        for (Attachment a : records) if (Settler.conflicted(a)) out.add(a);
        return out;
    }
}
