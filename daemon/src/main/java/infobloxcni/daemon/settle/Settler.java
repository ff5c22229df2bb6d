package infobloxcni.daemon.settle;

import infobloxcni.daemon.grid.GridRecords;
import infobloxcni.daemon.grid.ReservationTags;
import infobloxcni.daemon.state.AddressPool;
import infobloxcni.daemon.state.JournalGuard;
import infobloxcni.daemon.state.KeyLocks;
import infobloxcni.store.Attachment;
import infobloxcni.store.AttachmentKey;
import infobloxcni.store.AttachmentState;
import infobloxcni.wapi.FixedAddress;
import infobloxcni.wapi.ReservationClaim;
import infobloxcni.wapi.VerifiedWrite;
import infobloxcni.wapi.WapiClient;
import infobloxcni.wapi.WapiException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Settles one journal record against the grid: the one place where the ownership rule is
 * applied. The grid is the truth, and a ref names a key (IP and view), not an object, so nothing
 * here writes by a stored ref or on the journal's word alone: every write is a verified one
 * ({@link WapiClient#updateFixedAddressIf}, {@link WapiClient#deleteFixedAddressIf}) against the
 * claims of the record's own attachment, and what the grid shows decides.
 *
 * <ul>
 *   <li>A container's release ({@link #release}) claims only the container's own reservation
 *       ({@link ReservationTags#claimsOf}, the original driver's only in the record's subnet),
 *       never this host's pool entry: a replayed release whose DELETE had landed would otherwise
 *       delete the pool entry the keeper has since reserved at the freed address. An address
 *       another record holds is never released for this one.</li>
 *   <li>A pool entry is released ({@link #releasePoolEntry}) only from its own record, while no
 *       refill of its network is under way (which could have been handed the same address).</li>
 *   <li>A tag ({@link #tag}) turns this host's pool entry, at the address the record holds, into
 *       the container's reservation; what the grid answers tells whether the address is ours.</li>
 * </ul>
 *
 * <p>Grid work runs without the record's request lock, so that a DEL never waits for a settlement
 * in flight (callers hold the attachment's settling lock instead, one settlement per record at
 * a time); its outcome is written only if the record is still what the settlement read
 * ({@link #commit}). A record that changed meanwhile is the newer request's to settle.
 */
public final class Settler {
    private static final System.Logger LOG = System.getLogger(Settler.class.getName());
    /** The container-ID slot of a release detached from its attachment (a re-ADD during an outage). */
    static final String DETACHED = "~released";

    /** What a tag found. */
    public enum Tagged {
        /** the grid now shows the address as the container's */
        TAGGED,
        /** the address is not this host's to give (deleted, or someone else's): the record is gone */
        NOT_OURS,
        /** the record changed while the grid was asked (a DEL came): the newer state settles it */
        CHANGED
    }

    private final JournalGuard journal;
    private final WapiClient wapi;
    private final ReservationTags tags;
    private final AddressPool pool;
    private final KeyLocks requests;
    private final Clock clock;
    /** Attachments holding a pool address whose ADD failed before it was answered (its tag could not be confirmed). */
    private final java.util.Set<AttachmentKey> unanswered = java.util.concurrent.ConcurrentHashMap.newKeySet();

    public Settler(
            JournalGuard journal,
            WapiClient wapi,
            ReservationTags tags,
            AddressPool pool,
            KeyLocks requests,
            Clock clock) {
        this.journal = journal;
        this.wapi = wapi;
        this.tags = tags;
        this.pool = pool;
        this.requests = requests;
        this.clock = clock;
    }

    public ReservationTags tags() {
        return tags;
    }

    /**
     * The ADD of this attachment failed while its pool address was being tagged: it was not
     * answered, so a settlement that finds the address is not ours just lets it go (after a
     * restart nobody can tell, and a settlement reports it as a conflict instead).
     */
    public void notAnswered(AttachmentKey key) {
        unanswered.add(key);
    }

    /** The attachment's pool address was answered to it (from the pool, while the grid is down). */
    public void answered(AttachmentKey key) {
        unanswered.remove(key);
    }

    /** Whether a record holding a pool address was answered to its container (see {@link #notAnswered}). */
    public boolean wasAnswered(AttachmentKey key) {
        return !unanswered.contains(key);
    }

    /**
     * Runs {@code change} under the record's request lock if the record is still {@code seen}
     * (the request path holds that lock already; it is reentrant). False when it changed.
     */
    boolean commit(Attachment seen, Runnable change) {
        try (KeyLocks.Held held = requests.lock(seen.key())) {
            if (!journal.get(seen.key()).map(seen::equals).orElse(false)) return false;
            change.run();
            return true;
        }
    }

    // ------------------------------------------------------------------------ tag

    /**
     * Makes the grid show a pool address the record holds as the container's (VM ID, name, MAC,
     * owner comment), through the verified write: only this host's pool entry, or the
     * container's own reservation (a tag whose answer was lost), is written.
     *
     * @param answered the address was answered already (from the pool while the grid was down):
     *                 the container may be using it, so an address found deleted is reserved
     *                 again, and one someone else holds is a conflict for a person. Not answered
     *                 (an ADD confirming before it answers): an address that is not ours is simply
     *                 given up, and the ADD takes another.
     * @throws WapiException when the grid cannot tell now (the record stays) or refused the write
     */
    public Tagged tag(Attachment taken, boolean answered) {
        AttachmentKey key = taken.key();
        // On disk before the grid hears of it: from now on the grid may show this container's tag.
        Attachment record = taken;
        if (record.attempts() == 0) {
            Attachment tried = record.withAttempt();
            if (!commit(record, () -> journal.put(tried))) return Tagged.CHANGED;
            record = journal.get(key).orElseThrow();
        }
        // The pool entry's claim first: it is what the address holds unless a tag's answer was lost, and the
        // first claim is the one the one-step write (the multiple-request object) filters by.
        List<ReservationClaim> claims = new ArrayList<>();
        claims.add(tags.poolClaim(key.network()));
        claims.addAll(tags.claimsOf(key, record.cidr()));
        VerifiedWrite w = wapi.updateFixedAddressIf(
                record.networkView(), record.address(), claims, tags.tagFor(key, record.mac(), record.podName()));
        Attachment seen = record;
        switch (w.outcome()) {
            case WRITTEN -> {
                pool.confirm(seen.networkView(), seen.address());
                if (!commit(
                        seen,
                        () -> journal.put(
                                seen.withRef(w.holder().ref()).withError(null).withState(AttachmentState.ALLOCATED))))
                    return Tagged.CHANGED;
                unanswered.remove(key);
                LOG.log(System.Logger.Level.INFO, "{0} from the pool tagged for {1}", seen.address(), key);
                return Tagged.TAGGED;
            }
            case ABSENT -> {
                if (!answered) return giveUp(seen, "it is no longer reserved on the grid");
                return reserveAgain(seen);
            }
            default -> {
                String why = "it now holds " + describe(w.holder());
                if (!answered) return giveUp(seen, why);
                conflict(seen, why);
                return Tagged.NOT_OURS;
            }
        }
    }

    /** An address a container was answered, found deleted on the grid: it uses the address, so reserve it again. */
    private Tagged reserveAgain(Attachment seen) {
        try {
            FixedAddress again = wapi.reserveAddress(
                    seen.networkView(), seen.address(), tags.forContainer(seen.key(), seen.mac(), seen.podName()));
            commit(
                    seen,
                    () -> journal.put(seen.withRef(again.ref()).withError(null).withState(AttachmentState.ALLOCATED)));
            pool.confirm(seen.networkView(), seen.address());
            LOG.log(
                    System.Logger.Level.WARNING,
                    "{0} from the pool was no longer reserved; reserved again for {1}",
                    seen.address(),
                    seen.key());
            return Tagged.TAGGED;
        } catch (WapiException.Conflict someoneElse) {
            // someone took the address between the look and the POST: the look says who
            FixedAddress holder = wapi.findFixedAddressByIp(seen.networkView(), seen.address())
                    .orElse(null);
            conflict(seen, "it now holds " + (holder == null ? "a reservation made meanwhile" : describe(holder)));
            return Tagged.NOT_OURS;
        }
    }

    /** A pool address taken for an ADD not answered yet turned out not to be ours: the ADD takes another. */
    private Tagged giveUp(Attachment seen, String why) {
        commit(seen, () -> journal.remove(seen.key()));
        unanswered.remove(seen.key());
        pool.unconfirm(seen.networkView(), seen.address());
        LOG.log(
                System.Logger.Level.WARNING,
                "pool address {0} of {1} was not given to {2}: {3}; it leaves the pool",
                seen.address(),
                seen.key().network(),
                seen.key().containerId(),
                why);
        return Tagged.NOT_OURS;
    }

    /**
     * Puts a pool address an ADD could not tag (the grid refused the write) back into the pool,
     * untouched on the grid. The record as it is now: the tag counted its attempt on disk before
     * the grid heard of it, and a record compared with the one taken used to look changed, so it
     * stayed TAG_PENDING and was retried every 2 s for ever.
     */
    public void untake(Attachment taken) {
        Attachment now = journal.get(taken.key()).orElse(null);
        if (now == null
                || now.state() != AttachmentState.TAG_PENDING
                || !Objects.equals(now.address(), taken.address())) return;
        commit(now, () -> pool.putBack(now, clock.instant()));
    }

    /**
     * A pool address in use by a container that the grid now gives to someone else (it was
     * answered while the grid was down: the documented outage trade-off). It is for a person:
     * the record says so ({@link #CONFLICT}), status lists it, CHECK and a repeated ADD fail.
     */
    private void conflict(Attachment taken, String why) {
        LOG.log(
                System.Logger.Level.ERROR,
                "CONFLICT: {0} uses {1} from this host''s pool, but {2}; delete and add the container again, then "
                        + "run infoblox-cni-recover",
                taken.key(),
                taken.address(),
                why);
        commit(taken, () -> journal.put(taken.withError(CONFLICT + why).withState(AttachmentState.ALLOCATED)));
        pool.unconfirm(taken.networkView(), taken.address());
    }

    /** The error that marks a record whose address the grid gives to someone else. */
    public static final String CONFLICT = "CONFLICT: address taken on the grid while it was answered from the pool: ";

    public static boolean conflicted(Attachment a) {
        return a.lastError() != null && a.lastError().startsWith(CONFLICT);
    }

    // -------------------------------------------------------------------- release

    /**
     * Deletes on the grid what belongs to this container's attachment, and nothing else, then
     * drops the record (if unchanged). The record's address is released only if what it holds
     * now is provably this attachment's and no other record holds it; when it is not (or the
     * record knows no address), a search by {@code VM ID} finds what is this attachment's in its
     * view (the original driver's only in the record's subnet). What is no longer ours counts as
     * released: it is logged and left alone. An address found to be this host's free pool entry
     * (handed out while the grid was down and never tagged) goes back into the pool.
     *
     * @throws WapiException when the grid cannot be asked now; the record stays
     */
    public void release(Attachment a) {
        AttachmentKey owner = ownerOf(a.key());
        String view = a.networkView();
        List<ReservationClaim> claims = tags.claimsOf(owner, a.cidr());
        boolean done = false;
        if (a.address() != null && !heldByAnotherRecord(view, a.address(), a.key())) {
            VerifiedWrite w = wapi.deleteFixedAddressIf(view, a.address(), claims);
            if (backInThePool(a, w)) return;
            logRelease(owner, w);
            done = w.outcome() == VerifiedWrite.Outcome.WRITTEN;
        }
        if (!done) {
            for (FixedAddress r : findOnGrid(owner, view, a.cidr())) {
                if (!heldByAnotherRecord(r.networkView(), r.ipv4addr(), a.key()))
                    logRelease(owner, wapi.deleteFixedAddressIf(r.networkView(), r.ipv4addr(), claims, r));
            }
        }
        if (commit(a, () -> journal.remove(a.key())) && a.lastError() != null) {
            LOG.log(
                    System.Logger.Level.INFO,
                    "pending release of {0} done (it had failed: {1})",
                    a.key(),
                    a.lastError());
        }
    }

    /**
     * The address holds this host's free pool entry of the record's network (handed out while the
     * grid was down, never tagged): the record goes and, unless another record names the address
     * by now, the entry is the pool's again. True when the record went.
     */
    private boolean backInThePool(Attachment a, VerifiedWrite w) {
        if (w.outcome() != VerifiedWrite.Outcome.HELD_BY_ANOTHER
                || !a.key().network().equals(tags.poolNetworkOf(w.holder()))) return false;
        FixedAddress r = w.holder();
        Attachment entry = AddressPool.entry(
                a.key().network(),
                r.networkView(),
                r.ipv4addr(),
                GridRecords.prefixOf(r),
                a.gateway(),
                r.ref(),
                r.network(),
                clock.instant());
        boolean[] adopted = {false};
        if (!commit(a, () -> {
            journal.remove(a.key());
            adopted[0] = pool.adoptIfUnrecorded(entry);
        })) return false;
        if (adopted[0]) {
            pool.confirm(r.networkView(), r.ipv4addr());
            LOG.log(System.Logger.Level.INFO, "{0} of {1} was never tagged: back in the pool", r.ipv4addr(), a.key());
        }
        return true;
    }

    /** Whether a record other than {@code self} holds (names) this address. */
    private boolean heldByAnotherRecord(String view, String address, AttachmentKey self) {
        return otherRecordAt(view, address, self) != null;
    }

    /** A record other than {@code self} that names this address, or null. */
    private Attachment otherRecordAt(String view, String address, AttachmentKey self) {
        for (Attachment o : journal.all()) {
            if (!o.key().equals(self) && address.equals(o.address()) && view.equals(o.networkView())) return o;
        }
        return null;
    }

    /**
     * Releases a reservation a search has just returned, if it is still this attachment's (the
     * audit): its owner comment, or the original driver's tags in {@code cidr}.
     */
    public VerifiedWrite.Outcome releaseSeen(AttachmentKey key, FixedAddress seen, String cidr) {
        if (heldByAnotherRecord(seen.networkView(), seen.ipv4addr(), key)) return VerifiedWrite.Outcome.HELD_BY_ANOTHER;
        return logRelease(
                key, wapi.deleteFixedAddressIf(seen.networkView(), seen.ipv4addr(), tags.claimsOf(key, cidr), seen));
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
                        "{0} no longer holds the reservation of {1} (it holds {2}): left alone, counted as released",
                        w.holder().ipv4addr(),
                        key,
                        describe(w.holder()));
        }
        return w.outcome();
    }

    /** A reservation as a log line names its holder. */
    static String describe(FixedAddress r) {
        return "VM ID " + r.ea(ReservationTags.VM_ID)
                + (r.comment() == null ? ", no comment" : ", comment \"" + r.comment() + "\"");
    }

    /**
     * Reservations on the grid that belong to this attachment ({@link ReservationTags#claimsOf}),
     * in the grid's order: in the view, those with its owner comment, and the original driver's
     * only in {@code cidr} (none when the subnet is unknown).
     */
    public List<FixedAddress> findOnGrid(AttachmentKey key, String view, String cidr) {
        List<ReservationClaim> claims = tags.claimsOf(key, cidr);
        return wapi.findFixedAddressesByEa(view, ReservationTags.VM_ID, key.containerId()).stream()
                .filter(r -> claims.stream().anyMatch(c -> c.matches(r)))
                .toList();
    }

    // ------------------------------------------------------------- detached releases

    /**
     * The key under which a container's pending release goes on when its attachment is added
     * again while the grid is down: the attachment gets a new address from the pool, and the old
     * one is released once the grid is back. "~released" is no CNI container ID, so no runtime
     * can name it; the owner's key and the address are kept in the interface slot
     * ({@code <container>/<ifname>/<address>}: neither a container ID nor an interface name can
     * hold a '/').
     */
    static AttachmentKey detachedKey(AttachmentKey owner, String address) {
        return new AttachmentKey(owner.network(), DETACHED, owner.containerId() + "/" + owner.ifName() + "/" + address);
    }

    /** The attachment a record's release is for: its own key, or the owner of a detached release. */
    static AttachmentKey ownerOf(AttachmentKey key) {
        if (!key.containerId().equals(DETACHED)) return key;
        String[] parts = key.ifName().split("/", 3);
        return new AttachmentKey(key.network(), parts[0], parts[1]);
    }

    /** Moves a container's pending release to a key of its own (see {@link #detachedKey}). Request lock held. */
    public void detach(Attachment pending) {
        AttachmentKey to = detachedKey(pending.key(), String.valueOf(pending.address()));
        Attachment moved = pending.withKey(to).withState(AttachmentState.DEL_PENDING);
        journal.put(moved);
        journal.remove(pending.key());
        LOG.log(
                System.Logger.Level.INFO,
                "{0} is added again while the grid is down: the release of {1} goes on once the grid is back",
                pending.key(),
                pending.address());
    }

    // -------------------------------------------------------------------- return

    /**
     * Retags a container's reservation as this host's free pool address, then lists it in the
     * pool; an address that turned out no longer ours just goes (as a release would).
     *
     * @throws WapiException when the grid cannot be asked now; the record stays
     */
    public void returnToPool(Attachment intent) {
        List<ReservationClaim> claims = new ArrayList<>(tags.claimsOf(intent.key(), intent.cidr()));
        claims.add(tags.poolClaim(intent.key().network()));
        VerifiedWrite w = wapi.updateFixedAddressIf(
                intent.networkView(),
                intent.address(),
                claims,
                tags.untagFor(intent.key().network()),
                ReservationTags.CONTAINER_EAS);
        if (w.outcome() == VerifiedWrite.Outcome.WRITTEN) {
            if (commit(intent, () -> pool.putBack(intent, clock.instant()))) {
                pool.confirm(intent.networkView(), intent.address());
                LOG.log(System.Logger.Level.INFO, "{0} of {1} back in the pool", intent.address(), intent.key());
            }
        } else {
            logRelease(intent.key(), w);
            commit(intent, () -> journal.remove(intent.key()));
        }
    }

    // ---------------------------------------------------------------- pool entries

    /**
     * Releases a pool entry its record marks for release (surplus, a subnet no longer used, a
     * network no longer named), only while no refill of its network is in flight or unsettled:
     * after a DELETE whose answer was lost, the grid may have handed the same address to this
     * host's next refill, and a replay would delete that. Then the record goes. While another
     * record's release still names the address (a container's DELETE answered 5xx, the keeper's
     * refill handed the freed address back), that release settles first: each skipping the
     * address for the other, the two used to leave the grid's entry with no record (an orphan).
     *
     * @return false when it must wait (a refill, or another record's release, is under way); the record stays
     * @throws WapiException when the grid cannot be asked now; the record stays
     */
    public boolean releasePoolEntry(Attachment entry) {
        String network = entry.key().network();
        AttachmentKey refill = AddressPool.refillKey(network);
        try (KeyLocks.Held noRefill = requests.tryLock(refill)) {
            if (noRefill == null || journal.get(refill).isPresent()) return false;
            Attachment other = otherRecordAt(entry.networkView(), entry.address(), entry.key());
            if (other != null
                    && (other.state() == AttachmentState.DEL_PENDING
                            || other.state() == AttachmentState.RETURN_PENDING)) return false;
            if (other == null) {
                VerifiedWrite w = wapi.deleteFixedAddressIf(
                        entry.networkView(), entry.address(), List.of(tags.poolClaim(network)));
                if (w.outcome() == VerifiedWrite.Outcome.WRITTEN)
                    LOG.log(
                            System.Logger.Level.INFO,
                            "pool of {0}: released {1} ({2})",
                            network,
                            entry.address(),
                            Objects.requireNonNullElse(entry.lastError(), "beyond its target"));
            }
            pool.unconfirm(entry.networkView(), entry.address());
            commit(entry, () -> journal.remove(entry.key()));
            return true;
        }
    }

    // ---------------------------------------------------------------- unknown ADDs

    /**
     * Looks on the grid for what an earlier attempt of an ADD may have reserved in its subnet,
     * and keeps exactly one: when a lost answer was followed by a retry that also landed, the
     * extra copies in that subnet are released.
     */
    public Optional<FixedAddress> adoptExisting(Attachment intent) {
        List<FixedAddress> found = findOnGrid(intent.key(), intent.networkView(), intent.cidr()).stream()
                .filter(r -> intent.cidr() == null || intent.cidr().equals(r.network()))
                .toList();
        if (found.isEmpty()) return Optional.empty();
        for (FixedAddress extra : found.subList(1, found.size())) {
            try {
                if (releaseSeen(intent.key(), extra, intent.cidr()) == VerifiedWrite.Outcome.WRITTEN) {
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
        return Optional.of(found.getFirst());
    }

    /**
     * An ADD whose outcome nobody waits for any more (its answer lost, or the daemon killed
     * mid-call), once no write of it can still be in flight: adopted if the grid holds it,
     * dropped if not. Nothing is released on a guess.
     */
    public void settleUnknownAdd(Attachment a) {
        Optional<FixedAddress> found = adoptExisting(a);
        if (found.isEmpty()) {
            if (commit(a, () -> journal.remove(a.key())))
                LOG.log(System.Logger.Level.INFO, "unfinished ADD of {0} left nothing on the grid; dropped", a.key());
            return;
        }
        FixedAddress r = found.get();
        if (commit(a, () -> journal.put(GridRecords.completed(a, r, a.gateway())))) {
            pool.confirm(r.networkView(), r.ipv4addr());
            LOG.log(System.Logger.Level.INFO, "unfinished ADD of {0} had reserved {1}; adopted", a.key(), r.ipv4addr());
        }
    }

    // ------------------------------------------------------------ a network recreated

    /**
     * The network was missing on the grid and has just been created again (an operator deleted
     * it, and with it every reservation inside it): the addresses this host's records still hold
     * in it are reserved again before anything is allocated from it, so that the grid does not
     * hand a live container's address to someone else. Pool entries in it are gone with it.
     */
    public void restoreReservations(String view, String cidr) {
        for (Attachment a : journal.all()) {
            if (a.address() == null || !view.equals(a.networkView()) || !cidr.equals(a.cidr())) continue;
            if (a.state() == AttachmentState.POOL) {
                if (pool.dropIfFree(a)) pool.unconfirm(view, a.address());
                continue;
            }
            if (!HELD.contains(a.state()) || AddressPool.isInternalKey(a.key())) continue;
            try {
                FixedAddress again =
                        wapi.reserveAddress(view, a.address(), tags.forContainer(a.key(), a.mac(), a.podName()));
                // The ref is only a note: the caller may hold another record's lock (an ADD making sure of the
                // network), so this one is not waited for.
                try (KeyLocks.Held held = requests.tryLock(a.key())) {
                    if (held != null && journal.get(a.key()).map(a::equals).orElse(false))
                        journal.put(a.withRef(again.ref()));
                }
                LOG.log(
                        System.Logger.Level.WARNING,
                        "network {0} was created again on the grid: reserved {1} again for {2}",
                        cidr,
                        a.address(),
                        a.key());
            } catch (WapiException e) {
                LOG.log(
                        System.Logger.Level.ERROR,
                        "network {0} was created again on the grid, but {1} of {2} could not be reserved again: {3}",
                        cidr,
                        a.address(),
                        a.key(),
                        e.getMessage());
            }
        }
    }

    /** The states in which a container's record holds its address on the grid. */
    private static final java.util.Set<AttachmentState> HELD = java.util.EnumSet.of(
            AttachmentState.ALLOCATED, AttachmentState.TAG_PENDING, AttachmentState.RETURN_PENDING);
}
