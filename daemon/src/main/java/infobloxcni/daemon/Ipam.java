package infobloxcni.daemon;

import infobloxcni.store.Attachment;
import infobloxcni.store.AttachmentKey;
import infobloxcni.store.AttachmentState;
import infobloxcni.wapi.Deadline;
import infobloxcni.wapi.FixedAddress;
import infobloxcni.wapi.GridHealth;
import infobloxcni.wapi.ReservationClaim;
import infobloxcni.wapi.VerifiedWrite;
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
 * The IPAM verbs. Every change to the grid follows the same rule: the intent is on disk in the
 * journal before the grid hears of it, and the outcome after. When an outcome is unknown (the
 * grid may have applied a write whose answer we never saw), the next attempt looks on the grid
 * before it writes again, so nothing is allocated twice or leaked by a retry or a crash.
 */
public final class Ipam {
    private static final System.Logger LOG = System.getLogger(Ipam.class.getName());

    private final DaemonConfig config;
    private final WapiClient wapi;
    private final JournalGuard journal;
    private final GridNetworks networks;
    private final ReservationTags tags;
    private final KeyLocks locks = new KeyLocks(256);
    private final Clock clock;
    private final Settlements settlements;
    private final AddressPool pool;
    private final Wakeup keeper;
    /** How long an ADD for an attachment the journal does not know waits for the start-up merge with the grid. */
    private final Duration syncWait;

    /**
     * @param settlements where the grid half of a verb goes to run behind its answer (a DEL's
     *                    release, a pool address's tag), and "look now" when something could not finish
     * @param pool        this host's warm addresses
     * @param keeper      signalled when a pool may need refilling
     */
    public Ipam(
            DaemonConfig config,
            WapiClient wapi,
            JournalGuard journal,
            ReservationTags tags,
            Clock clock,
            Settlements settlements,
            AddressPool pool,
            Wakeup keeper) {
        this.config = config;
        this.wapi = wapi;
        this.journal = journal;
        this.tags = tags;
        this.networks = new GridNetworks(wapi, tags);
        this.clock = clock;
        this.settlements = settlements;
        this.pool = pool;
        this.keeper = keeper;
        // Bounded: with the grid away the ADD cannot succeed anyway, and should say so soon.
        Duration callTimeout = config.wapi().callTimeout();
        this.syncWait = callTimeout.compareTo(Duration.ofSeconds(5)) < 0 ? callTimeout : Duration.ofSeconds(5);
    }

    // ------------------------------------------------------------------------------------- ADD

    /** An ADD's answer: the CNI result, and the attachment it reports. */
    public record Added(byte[] result, Attachment attachment) {}

    /** ADD, its grid calls all within the ADD bound ({@link DaemonConfig.VerbBounds}). */
    public Added add(CniRequest request) throws CniError {
        return Deadline.within(config.bounds().add(), () -> addWithin(request));
    }

    private Added addWithin(CniRequest request) throws CniError {
        NetConf conf = request.netConf();
        AttachmentKey key = keyOf(request);
        NetworkRequest policy = policyFor(conf);
        pool.observe(policy, poolTargetOf(conf));
        try (KeyLocks.Held held = locks.lock(key)) {
            Attachment known = journal.get(key).orElse(null);
            if (known == null) {
                // The journal may have lost this attachment: wait (bounded) for the start-up merge with the grid.
                journal.awaitGridSync(syncWait);
                known = journal.get(key).orElse(null);
            }
            if (known != null
                    && (known.state() == AttachmentState.ALLOCATED || known.state() == AttachmentState.TAG_PENDING)) {
                // A repeated ADD (a runtime retrying after a timeout): same answer, no grid call.
                return added(conf, known, policy);
            }
            if (known != null && known.state() == AttachmentState.RETURN_PENDING && known.address() != null) {
                // A DEL that only gives the address back to this host's pool (a container restarted
                // during an outage, say): the address is still this host's whatever the grid shows
                // by now. Take it back, no grid call; the tag is made sure of in the background.
                Attachment back = known.withState(AttachmentState.TAG_PENDING).withPodName(request.podName());
                journal.put(back);
                settlements.behind(key);
                return added(conf, back, policy);
            }
            if (known != null && known.state() == AttachmentState.DEL_PENDING) {
                releaseNow(known); // finish the earlier DEL before this container gets a new address
                known = null;
            }
            String mac = MacAddresses.of(request);
            if (known == null) {
                Optional<Attachment> fromPool = pool.take(
                        key,
                        policy.view(),
                        policy.subnet() == null ? null : policy.subnet().toString(),
                        mac,
                        request.podName(),
                        clock.instant());
                if (fromPool.isPresent()) {
                    // Answered from the pool: zero grid calls before the answer; the tag follows in the background.
                    settlements.behind(key);
                    keeper.signal();
                    Attachment taken = fromPool.get();
                    return added(conf, taken, policy);
                }
            }
            ReadyNetwork network = networks.ensure(policy);
            boolean outcomeUnknown = known != null; // an ADD_PENDING left by a lost answer or a crash
            Attachment intent = (known != null ? known : Attachment.pending(key, network.view(), mac, clock.instant()))
                    .withAttempt();
            journal.put(intent);

            FixedAddress reservation = outcomeUnknown ? adoptExisting(intent, network.view()) : null;
            if (reservation == null) reservation = reserve(request, intent, network, policy);

            // the subnet is known here: no need to trust the answer's network field
            Attachment allocated = intent.withAllocation(
                            reservation.ipv4addr(),
                            network.subnet().prefixLength(),
                            network.gateway(),
                            reservation.ref(),
                            network.subnet().toString())
                    .withState(AttachmentState.ALLOCATED);
            journal.put(allocated);
            keeper.signal(); // the network is in use: keep its pool filled
            return new Added(CniResults.added(conf, allocated, network.gateway()), allocated);
        }
    }

    /** The answer for an attachment that holds its address already (its gateway as recorded, else the network's). */
    private Added added(NetConf conf, Attachment a, NetworkRequest policy) throws CniError {
        return new Added(
                CniResults.added(
                        conf,
                        a,
                        a.gateway() != null
                                ? a.gateway()
                                : networks.ensure(policy).gateway()),
                a);
    }

    /** One POST: the grid picks the lowest free address and the answer carries it. */
    private FixedAddress reserve(CniRequest request, Attachment intent, ReadyNetwork network, NetworkRequest policy)
            throws CniError {
        AttachmentKey key = intent.key();
        try {
            return wapi.reserveNextAvailableIp(
                    network.view(),
                    network.subnet().toString(),
                    tags.forContainer(key, intent.mac(), request.podName()));
        } catch (WapiException.Transient lost) {
            if (!lost.mayHaveBeenApplied()) {
                forgetIntent(intent);
                throw GridErrors.toCni(lost, "reserving an address");
            }
            journal.put(intent.withError(lost.getMessage()));
            FixedAddress found = adoptExistingQuietly(intent, network.view());
            if (found != null) return found;
            throw GridErrors.toCni(lost, "reserving an address");
        } catch (WapiException.Rejected | WapiException.NotFound gone) {
            // Most often the network (or view) was removed on the grid behind our back.
            networks.forget(policy);
            forgetIntent(intent);
            throw GridErrors.toCni(gone, "reserving an address in " + network.subnet());
        } catch (WapiException refused) {
            forgetIntent(intent);
            throw GridErrors.toCni(refused, "reserving an address in " + network.subnet());
        }
    }

    /** The grid certainly holds nothing for this attempt: the intent can go. */
    private void forgetIntent(Attachment intent) {
        if (intent.attempts() <= 1) journal.remove(intent.key());
        else journal.put(intent.withError("last attempt refused"));
    }

    /**
     * Looks on the grid for what an earlier attempt may have reserved, and keeps exactly one:
     * when a lost answer was followed by a retry that also landed, the extra copies are released.
     */
    private FixedAddress adoptExisting(Attachment intent, String view) throws CniError {
        List<FixedAddress> found;
        try {
            found = findOnGrid(intent.key(), view, intent.cidr());
        } catch (WapiException e) {
            throw GridErrors.toCni(
                    e, "looking for an earlier reservation of " + intent.key().containerId());
        }
        if (found.isEmpty()) return null;
        for (FixedAddress extra : found.subList(1, found.size())) {
            try {
                if (releaseSeen(intent.key(), extra) == VerifiedWrite.Outcome.WRITTEN) {
                    LOG.log(
                            System.Logger.Level.WARNING,
                            "released duplicate reservation {0} of {1}",
                            extra.ipv4addr(),
                            intent.key());
                }
            } catch (WapiException e) {
                LOG.log(
                        System.Logger.Level.WARNING,
                        "duplicate reservation {0} of {1} left for recovery: {2}",
                        extra.ipv4addr(),
                        intent.key(),
                        e.getMessage());
            }
        }
        LOG.log(
                System.Logger.Level.INFO,
                "adopted reservation {0} of {1} from the grid",
                found.getFirst().ipv4addr(),
                intent.key());
        return found.getFirst();
    }

    private FixedAddress adoptExistingQuietly(Attachment intent, String view) {
        try {
            return adoptExisting(intent, view);
        } catch (CniError e) {
            return null;
        }
    }

    /** Reservations on the grid that belong to this attachment ({@link ReservationTags#claimsOf}), in the grid's order. */
    public List<FixedAddress> findOnGrid(AttachmentKey key, String view, String cidr) {
        return wapi.findFixedAddressesByEa(view, ReservationTags.VM_ID, key.containerId()).stream()
                .filter(r -> tags.owns(r, key))
                .filter(r -> cidr == null
                        || r.network() == null
                        || r.network().equals(cidr)
                        || ReservationTags.ownerOf(r).isPresent())
                .toList();
    }

    // ------------------------------------------------------------------------------------- DEL

    /**
     * Lets this attachment's address go, and answers as soon as that intent is on disk: the
     * release on the grid (or the return to this host's pool) runs behind the answer, as it
     * does when the grid is away. Nothing in the CNI rules needs the grid's answer first: a DEL
     * must succeed when the address is already gone and may be repeated, and the address stays
     * this attachment's on the grid until the release lands, so nobody else can be given it
     * early. A repeated ADD of the same attachment waits for, or finishes, the release first.
     * With a DEL bound set ({@code --del-timeout}), the answer waits that long for the release.
     * Returns what the journal knew of the attachment (null: nothing), for the operation's log line.
     */
    public Attachment del(CniRequest request) throws CniError {
        AttachmentKey key = keyOf(request);
        NetworkRequest policy = policyFor(request.netConf());
        int target = poolTargetOf(request.netConf());
        pool.observe(policy, target);
        CompletableFuture<Void> released;
        Attachment known;
        try (KeyLocks.Held held = locks.lock(key)) {
            known = journal.get(key).orElse(null);
            boolean pooled =
                    known != null && pool.giveBack(known, target, wapi.health().failingFast(), clock.instant());
            if (pooled) keeper.signal();
            else releaseIntent(key, known, policy.view());
            released = settlements.behind(key); // it takes the lock once this DEL lets it go
        }
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
     * Retags a container's reservation as this host's free pool address, then lists it in the
     * pool. Null when done (or when the address turned out no longer ours: the record goes, as a
     * release would); the failure when the grid must be asked again later. Key lock held.
     */
    WapiException returnToPool(Attachment intent) {
        try {
            VerifiedWrite w = wapi.updateFixedAddressIf(
                    intent.networkView(),
                    intent.address(),
                    claimsWithPool(intent.key()),
                    tags.untagFor(intent.key().network()),
                    ReservationTags.CONTAINER_EAS);
            if (w.outcome() == VerifiedWrite.Outcome.WRITTEN) {
                pool.putBack(intent, clock.instant());
                LOG.log(System.Logger.Level.INFO, "{0} of {1} back in the pool", intent.address(), intent.key());
            } else {
                logRelease(intent.key(), w);
                journal.remove(intent.key());
            }
            return null;
        } catch (WapiException e) {
            journal.put(intent.withAttempt().withError(e.getMessage()));
            return e;
        }
    }

    /**
     * Tags an address the pool handed out with its container ({@code VM ID}, name, MAC, owner
     * comment), through the verified write: only this host's pool entry (or the container's own
     * reservation, after a lost answer) is written. Returns true when settled. Key lock held.
     */
    boolean tag(Attachment taken) {
        AttachmentKey key = taken.key();
        // On disk before the grid hears of it: from now on the grid may show this container's tag.
        if (taken.attempts() == 0) journal.put(taken = taken.withAttempt());
        List<ReservationClaim> claims = new ArrayList<>(claimsWithPool(key));
        VerifiedWrite w = wapi.updateFixedAddressIf(
                taken.networkView(), taken.address(), claims, tags.tagFor(key, taken.mac(), taken.podName()));
        switch (w.outcome()) {
            case WRITTEN -> {
                journal.put(taken.withRef(w.holder().ref()).withError(null).withState(AttachmentState.ALLOCATED));
                LOG.log(System.Logger.Level.INFO, "{0} from the pool tagged for {1}", taken.address(), key);
            }
            case ABSENT -> {
                // The pool's reservation was deleted behind our back: the container uses the address, reserve it again.
                try {
                    FixedAddress again = wapi.reserveAddress(
                            taken.networkView(), taken.address(), tags.forContainer(key, taken.mac(), taken.podName()));
                    journal.put(taken.withRef(again.ref()).withState(AttachmentState.ALLOCATED));
                    LOG.log(
                            System.Logger.Level.WARNING,
                            "{0} from the pool was no longer reserved; reserved again for {1}",
                            taken.address(),
                            key);
                } catch (WapiException.Conflict taken2) {
                    conflict(taken, "someone reserved it meanwhile");
                }
            }
            case HELD_BY_ANOTHER ->
                conflict(
                        taken,
                        "it now holds VM ID " + w.holder().ea(ReservationTags.VM_ID)
                                + (w.holder().comment() == null
                                        ? ", no comment"
                                        : ", comment \"" + w.holder().comment() + "\""));
        }
        return true;
    }

    /** A pool address in use by a container that the grid now gives to someone else: for a person (the audit reports it). */
    private void conflict(Attachment taken, String why) {
        LOG.log(
                System.Logger.Level.ERROR,
                "CONFLICT: {0} uses {1} from this host''s pool, but {2}; run infoblox-cni-recover",
                taken.key(),
                taken.address(),
                why);
        journal.put(taken.withError("pool address taken on the grid: " + why).withState(AttachmentState.ALLOCATED));
    }

    /** An attachment's claims, and this host's pool entry of its network (an address the pool handed out and not yet tagged). */
    private List<ReservationClaim> claimsWithPool(AttachmentKey key) {
        List<ReservationClaim> claims = new ArrayList<>(tags.claimsOf(key));
        claims.add(tags.poolClaim(key.network()));
        return claims;
    }

    /**
     * The one way an attachment is let go, now (GC): the intent on disk first, then the grid,
     * then the record goes. On a grid failure the record stays DEL_PENDING for the reconciler
     * and the failure is returned. The caller holds the key's lock.
     */
    WapiException releaseWithIntent(AttachmentKey key, String view) {
        Attachment intent = releaseIntent(key, journal.get(key).orElse(null), view);
        try {
            release(intent);
            journal.remove(key);
            return null;
        } catch (WapiException e) {
            journal.put(intent.withAttempt().withError(e.getMessage()));
            return e;
        }
    }

    /** Puts DEL_PENDING on disk for this attachment (known to the journal or not) and returns it. Key lock held. */
    private Attachment releaseIntent(AttachmentKey key, Attachment known, String view) {
        if (known != null && known.state() == AttachmentState.DEL_PENDING)
            return known; // a repeated DEL: already on disk
        Attachment intent = (known != null ? known : Attachment.pending(key, view, MacAddresses.NONE, clock.instant()))
                .withState(AttachmentState.DEL_PENDING);
        journal.put(intent);
        return intent;
    }

    /**
     * Deletes on the grid what belongs to this attachment, and nothing else. The journal's ref
     * is never used to write: it names a key (IP and view), and by now that key may hold another
     * container's reservation (the grid hands a freed address out again at once), a printer an
     * operator reserved, or something that is not a reservation at all. So the address the
     * journal knows is released only if what it holds now is provably this attachment's
     * ({@link ReservationTags#claimsOf}); when it is not (or the journal knows no address), a
     * search by {@code VM ID} finds what is this attachment's wherever it is. Something that is
     * no longer ours counts as already released: it is logged and left alone.
     */
    public void release(Attachment attachment) {
        AttachmentKey key = attachment.key();
        String view = attachment.networkView();
        if (attachment.address() != null) {
            // A record's address may still show the pool's tag (handed out, never tagged): that, too, is this
            // attachment's.
            VerifiedWrite.Outcome atKnownAddress =
                    logRelease(key, wapi.deleteFixedAddressIf(view, attachment.address(), claimsWithPool(key)));
            if (atKnownAddress == VerifiedWrite.Outcome.WRITTEN) return;
        }
        for (FixedAddress r : findOnGrid(key, view, attachment.cidr())) releaseSeen(key, r);
    }

    /** Releases a reservation a search has just returned, if it is still this attachment's. */
    VerifiedWrite.Outcome releaseSeen(AttachmentKey key, FixedAddress seen) {
        return logRelease(
                key, wapi.deleteFixedAddressIf(seen.networkView(), seen.ipv4addr(), tags.claimsOf(key), seen));
    }

    private static VerifiedWrite.Outcome logRelease(AttachmentKey key, VerifiedWrite w) {
        switch (w.outcome()) {
            case WRITTEN ->
                LOG.log(
                        System.Logger.Level.INFO,
                        "released {0} of {1}",
                        w.holder().ipv4addr(),
                        key);
            case ABSENT -> {} // released earlier, perhaps by a run that crashed before it could say so
            case HELD_BY_ANOTHER ->
                LOG.log(
                        System.Logger.Level.WARNING,
                        "{0} no longer holds the reservation of {1} (it holds VM ID {2}, comment \"{3}\"): left alone, counted as released",
                        w.holder().ipv4addr(),
                        key,
                        w.holder().ea(ReservationTags.VM_ID),
                        w.holder().comment());
        }
        return w.outcome();
    }

    /** Releases now or fails with "try again": used where the release must finish first. */
    private void releaseNow(Attachment pending) throws CniError {
        try {
            release(pending);
            journal.remove(pending.key());
        } catch (WapiException e) {
            throw GridErrors.toCni(
                    e, "finishing the earlier release of " + pending.key().containerId());
        }
    }

    // ----------------------------------------------------------------------------------- CHECK

    public void check(CniRequest request) throws CniError {
        Deadline.within(config.wapi().callTimeout(), () -> {
            checkWithin(request);
            return null;
        });
    }

    private void checkWithin(CniRequest request) throws CniError {
        AttachmentKey key = keyOf(request);
        List<String> expected = request.netConf().prevResultAddresses();
        if (expected.isEmpty())
            throw new CniError(CniError.INVALID_NETCONF, "field 'prevResult' holds no address to check");
        String view = policyFor(request.netConf()).view();
        try (KeyLocks.Held held = locks.lock(key)) {
            Attachment known = journal.get(key)
                    .filter(a -> a.state() == AttachmentState.ALLOCATED || a.state() == AttachmentState.TAG_PENDING)
                    .orElse(null);
            Optional<FixedAddress> onGrid;
            try {
                // What the journal's address holds now, if it is still ours; else a search by VM ID.
                // (A pool address handed out and not tagged yet still shows the pool's tag: that is this attachment's
                // too.)
                boolean untagged = known != null && known.state() == AttachmentState.TAG_PENDING;
                onGrid = known != null && known.address() != null
                        ? wapi.findFixedAddressByIp(known.networkView(), known.address())
                                .filter(r -> tags.owns(r, key)
                                        || untagged
                                                && tags.poolClaim(key.network()).matches(r))
                        : Optional.empty();
                if (onGrid.isEmpty())
                    onGrid = findOnGrid(key, view, null).stream().findFirst();
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

    /** CHECK proved a reservation the journal did not know (e.g. made by the original driver): remember it. */
    private void adoptChecked(AttachmentKey key, FixedAddress reservation, CniRequest request) {
        String gateway = request.netConf()
                .prevResult()
                .path("ips")
                .path(0)
                .path("gateway")
                .asText(null);
        journal.put(GridRecords.adopted(key, reservation, gateway, clock.instant()));
    }

    // ---------------------------------------------------------------------------------- STATUS

    /**
     * 0 while an ADD for the network can succeed: the pool has an address for it, or the grid
     * answers. 50 otherwise, with the reason. A grid known to be down answers at once; else one
     * light probe, bounded like a DEL, says whether it answers.
     */
    public void status(CniRequest request) throws CniError {
        if (request.netConf() != null && request.netConf().name() != null) {
            NetworkRequest policy = policyFor(request.netConf());
            pool.observe(policy, poolTargetOf(request.netConf()));
            if (!pool.free(
                            policy.networkName(),
                            policy.view(),
                            policy.subnet() == null ? null : policy.subnet().toString())
                    .isEmpty()) return;
        }
        GridHealth health = wapi.health();
        if (health.failingFast()) {
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
     * Releases every attachment of this network that the runtime no longer lists: in the
     * journal, and on the grid among this host's reservations. Goes on past failures and
     * reports them together.
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
        String view = policyFor(conf).view();
        List<String> failures = new ArrayList<>();

        Set<AttachmentKey> stale = new HashSet<>();
        for (Attachment a : journal.all()) {
            if (AddressPool.isPoolKey(a.key()) || a.state() == AttachmentState.RETURN_PENDING)
                continue; // pool entries are never collected
            if (a.key().network().equals(conf.name())
                    && !valid.contains(a.key().containerId() + "/" + a.key().ifName())) stale.add(a.key());
        }
        try {
            for (FixedAddress r : wapi.findFixedAddresses(
                    view, Map.of("comment~", tags.thisHostCommentRegex(conf.name())), Map.of())) {
                AttachmentKey key = tags.keyOf(r);
                if (key != null && !valid.contains(key.containerId() + "/" + key.ifName())) stale.add(key);
            }
        } catch (WapiException e) {
            failures.add("listing this host's reservations: " + e.getMessage());
        }

        for (AttachmentKey key : stale) {
            try (KeyLocks.Held held = locks.lock(key)) {
                Attachment known = journal.get(key).orElse(null);
                if (known != null && known.state() == AttachmentState.ADD_PENDING) continue; // an ADD in flight owns it
                WapiException failed = releaseWithIntent(key, known != null ? known.networkView() : view);
                if (failed == null) LOG.log(System.Logger.Level.INFO, "GC released {0}", key);
                else failures.add(key.containerId() + "/" + key.ifName() + ": " + failed.getMessage());
            }
        }
        if (!failures.isEmpty()) {
            settlements.later();
            throw new CniError(
                    CniError.TRY_AGAIN_LATER,
                    "GC could not release " + failures.size() + " attachment(s); they stay queued",
                    String.join("; ", failures));
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

    GridNetworks networks() {
        return networks;
    }

    AddressPool pool() {
        return pool;
    }

    NetworkRequest policyFor(NetConf conf) {
        return new NetworkRequest(
                conf.networkView() != null ? conf.networkView() : config.networkView(),
                conf.name(),
                conf.subnet(),
                conf.networkContainers().isEmpty() ? config.networkContainers() : conf.networkContainers(),
                conf.prefixLength() > 0 ? conf.prefixLength() : config.prefixLength(),
                conf.gateway());
    }

    KeyLocks locks() {
        return locks;
    }

    JournalGuard journal() {
        return journal;
    }
}
