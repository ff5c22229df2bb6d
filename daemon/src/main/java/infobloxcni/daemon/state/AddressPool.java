package infobloxcni.daemon.state;

import infobloxcni.daemon.cni.AllocationScope;
import infobloxcni.daemon.cni.Ipv4Subnet;
import infobloxcni.daemon.grid.NetworkRequest;
import infobloxcni.store.Attachment;
import infobloxcni.store.AttachmentKey;
import infobloxcni.store.AttachmentState;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * This host's warm addresses: per network, a few addresses reserved on the grid ahead of need,
 * so that an ADD is answered without the grid on its path, also while the grid is away.
 *
 * <p>On the grid a free pool address is a fixed address with the comment
 * {@code infoblox-cni host=<host> net=<network> pool}, the cloud EAs of ownership and no
 * {@code VM ID} ({@link ReservationTags#forPool}). In the journal it is a {@link AttachmentState#POOL}
 * record keyed {@code (network, "~pool", address)}: "~pool" can never be a CNI container ID
 * (those start with a letter or digit), so pool records never meet a runtime's keys. The journal is
 * the only index: every question is answered from it, so nothing here can drift from what is on
 * disk.
 *
 * <p>One address is never handed to two containers: taking writes the container's record
 * (holding the address) before the pool record goes, under one lock, and an address held by any
 * container's record is never free, whatever pool record still names it (a crash between the two
 * writes leaves exactly that; {@link #dropShadowed()} tidies it away).
 *
 * <p>The journal says which addresses the pool holds; only the grid says they are still this
 * host's. So the pool also knows which of its addresses the grid has <em>confirmed</em> since this
 * daemon started (the keeper's check of each network's pool, a refill, a return, a tag): while
 * the grid is down, only those are handed out, with no grid call, the documented outage
 * trade-off. An address never confirmed since the start (a pool an operator may have changed
 * while the daemon was stopped) waits for the grid.
 */
public final class AddressPool {
    static final String POOL_ID = "~pool";
    /** The ifname slot of a network's refill intent (one reservation in flight per network). */
    static final String REFILL = "~refill";

    /** How big a network's pool should be, and how to reach the network on the grid, as the latest request said. */
    public record Target(NetworkRequest request, int size) {}

    private final JournalGuard journal;
    private final Object takeLock = new Object();
    private final Map<String, Target> targets = new ConcurrentHashMap<>();
    /** view/address of the addresses the grid confirmed as this host's since the daemon started. */
    private final Set<String> confirmed = ConcurrentHashMap.newKeySet();

    public AddressPool(JournalGuard journal) {
        this.journal = journal;
    }

    public static boolean isPoolKey(AttachmentKey key) {
        return key.containerId().equals(POOL_ID);
    }

    /** A record no runtime can name (a pool entry, a refill, a detached release): its container ID starts with '~'. */
    public static boolean isInternalKey(AttachmentKey key) {
        return key.containerId().startsWith("~");
    }

    /** The grid has just shown this address as this host's (its pool entry, or a container's reservation). */
    public void confirm(String view, String address) {
        confirmed.add(view + "/" + address);
    }

    /** The grid no longer shows this address as this host's, or it left the pool. */
    public void unconfirm(String view, String address) {
        confirmed.remove(view + "/" + address);
    }

    /** Whether the grid has confirmed this address as this host's since the daemon started. */
    public boolean isConfirmed(String view, String address) {
        return confirmed.contains(view + "/" + address);
    }

    public static AttachmentKey entryKey(String network, String address) {
        return new AttachmentKey(network, POOL_ID, address);
    }

    public static AttachmentKey refillKey(String network) {
        return new AttachmentKey(network, POOL_ID, REFILL);
    }

    /** A request for the network says how big its pool should be (its netconf, else the daemon's default). */
    public void observe(NetworkRequest request, int size) {
        Target now = new Target(request, size);
        if (!now.equals(targets.get(request.networkName()))) targets.put(request.networkName(), now);
    }

    public Map<String, Target> targets() {
        return Map.copyOf(targets);
    }

    /** The pool size last asked for this network, or -1 when no request has said yet. */
    public int targetOf(String network) {
        Target t = targets.get(network);
        return t == null ? -1 : t.size();
    }

    /**
     * The free addresses of a network, lowest first: POOL records in this view (and subnet, when
     * given) whose address no container's record holds.
     */
    public List<Attachment> free(String network, String view, String cidr) {
        List<Attachment> all = journal.all();
        Set<String> held = heldAddresses(all, true);
        List<Attachment> out = new ArrayList<>();
        for (Attachment a : all) {
            if (a.state() != AttachmentState.POOL || !a.key().network().equals(network)) continue;
            if (view != null && !view.equals(a.networkView())) continue;
            if (cidr != null && !cidr.equals(a.cidr())) continue;
            if (!held.contains(a.networkView() + "/" + a.address())) out.add(a);
        }
        out.sort(Comparator.comparingLong(a -> Integer.toUnsignedLong(Ipv4Subnet.parseAddress(a.address()))));
        return out;
    }

    /** A network's free addresses in one view and subnet: pools are kept per network, and may span both. */
    public record Level(String view, String subnet, int free) {}

    /** Each network's free addresses by view and subnet (a network's netconf may have changed either). */
    public Map<String, List<Level>> levelsByViewAndSubnet() {
        Map<String, Map<String, Integer>> counts = new TreeMap<>();
        for (String network : levels().keySet()) counts.put(network, new TreeMap<>());
        for (String network : counts.keySet()) {
            for (Attachment a : free(network, null, null))
                counts.get(network).merge(a.networkView() + "\n" + a.cidr(), 1, Integer::sum);
        }
        Map<String, List<Level>> out = new LinkedHashMap<>();
        counts.forEach((network, byKey) -> {
            List<Level> levels = new ArrayList<>();
            byKey.forEach((k, n) ->
                    levels.add(new Level(k.substring(0, k.indexOf('\n')), k.substring(k.indexOf('\n') + 1), n)));
            out.put(network, levels);
        });
        return out;
    }

    /** How many free addresses each network's pool holds. */
    public Map<String, Integer> levels() {
        Set<String> networks = new TreeSet<>(targets.keySet());
        for (Attachment a : journal.all()) {
            if (a.state() == AttachmentState.POOL) networks.add(a.key().network());
        }
        Map<String, Integer> out = new LinkedHashMap<>();
        for (String network : networks)
            out.put(network, free(network, null, null).size());
        return out;
    }

    /**
     * Takes the lowest free address of the network for an attachment: the attachment's record
     * ({@link AttachmentState#TAG_PENDING}: the grid still shows the pool's tag) is on disk before
     * the pool record goes. Empty when the pool has nothing that fits.
     *
     * @param scope         the network's range and excludes: an entry outside them (the netconf changed) is not handed out
     * @param confirmedOnly only an address the grid confirmed since the daemon started (the grid is down)
     */
    public Optional<Attachment> take(
            AttachmentKey key,
            String view,
            String cidr,
            AllocationScope scope,
            String mac,
            String podName,
            Instant now,
            boolean confirmedOnly) {
        return takeFirst(
                key,
                view,
                cidr,
                mac,
                podName,
                now,
                a -> scope.allows(a.address()) && (!confirmedOnly || isConfirmed(a.networkView(), a.address())));
    }

    /**
     * Takes this host's free pool entry at {@code address}, if the pool holds one, as {@link #take}
     * takes the lowest: a runtime asked for an address this host keeps warm, and the verified tag
     * makes it the container's (a POST would only be refused: the grid holds it for the pool).
     */
    public Optional<Attachment> takeExactly(
            AttachmentKey key, String view, String cidr, String address, String mac, String podName, Instant now) {
        return takeFirst(key, view, cidr, mac, podName, now, a -> a.address().equals(address));
    }

    private Optional<Attachment> takeFirst(
            AttachmentKey key,
            String view,
            String cidr,
            String mac,
            String podName,
            Instant now,
            java.util.function.Predicate<Attachment> fits) {
        synchronized (takeLock) {
            List<Attachment> candidates =
                    free(key.network(), view, cidr).stream().filter(fits).toList();
            if (candidates.isEmpty()) return Optional.empty();
            Attachment entry = candidates.getFirst();
            Attachment taken = Attachment.pending(key, entry.networkView(), mac, now)
                    .withAllocation(entry.address(), entry.prefixLength(), entry.gateway(), entry.ref(), entry.cidr())
                    .withPodName(podName)
                    .withState(AttachmentState.TAG_PENDING);
            journal.put(taken);
            journal.remove(entry.key());
            return journal.get(key); // as stored (the journal stamps every write): what a settlement compares with
        }
    }

    /**
     * Whether a DEL gives this container's address back to the pool instead of releasing it: the
     * pool is below its target, counting the returns under way (their retag runs behind the
     * answer, so many DELs at once must not each see the same gap), or the grid is down (the
     * pool then stays stocked for the containers that start meanwhile; the surplus is released
     * once the grid is back). When it does, the container's record says so: RETURN_PENDING, or
     * straight back into the pool when no tag was ever tried. The caller holds the key's lock.
     *
     * @param currentSubnet the network's subnet now (null: unknown); an address in another goes
     */
    public boolean giveBack(Attachment known, int target, String currentSubnet, boolean gridDown, Instant now) {
        AttachmentState state = known.state();
        // an address the runtime asked for is the container's alone: it goes back to the grid, never to the pool
        if (known.address() == null || known.requested() || target <= 0) return false;
        // an address of a subnet the network no longer uses (its netconf changed) is no pool address any more
        if (currentSubnet != null && !currentSubnet.equals(known.cidr())) return false;
        if (state == AttachmentState.RETURN_PENDING) return true; // a repeated DEL
        if (state != AttachmentState.ALLOCATED && state != AttachmentState.TAG_PENDING) return false;
        synchronized (takeLock) {
            String network = known.key().network();
            long returning = journal.all().stream()
                    .filter(a -> a.state() == AttachmentState.RETURN_PENDING
                            && a.key().network().equals(network))
                    .count();
            if (free(network, known.networkView(), known.cidr()).size() + returning >= target && !gridDown)
                return false;
            // Never tagged: the grid still shows the pool's tag, the address goes straight back. Once a
            // tag was tried, the grid may show the container's (a crash before its answer was kept).
            if (state == AttachmentState.TAG_PENDING && known.attempts() == 0) putBack(known, now);
            else journal.put(known.withState(AttachmentState.RETURN_PENDING));
            return true;
        }
    }

    /** An address comes back (a DEL below target, its retag done): the pool record first, then the attachment's goes. */
    public void putBack(Attachment attachment, Instant now) {
        synchronized (takeLock) {
            journal.put(entry(
                    attachment.key().network(),
                    attachment.networkView(),
                    attachment.address(),
                    attachment.prefixLength(),
                    attachment.gateway(),
                    attachment.ref(),
                    attachment.cidr(),
                    now));
            journal.remove(attachment.key());
        }
    }

    /**
     * A free address is to be released (surplus, a subnet the network no longer uses), if it is
     * still free: its record says so ({@link AttachmentState#DEL_PENDING} under its pool key), so
     * that it is never handed out again and a release whose answer is lost is replayed. False
     * when an ADD took it since the caller listed the free ones.
     */
    public boolean markForRelease(Attachment entry, String why) {
        synchronized (takeLock) {
            if (!isStillFree(entry)) return false;
            journal.put(journal.get(entry.key())
                    .orElseThrow()
                    .withState(AttachmentState.DEL_PENDING)
                    .withError(why));
            return true;
        }
    }

    private boolean isStillFree(Attachment entry) {
        Attachment now = journal.get(entry.key()).orElse(null);
        if (now == null
                || now.state() != AttachmentState.POOL
                || !java.util.Objects.equals(now.address(), entry.address())) return false;
        return !heldAddresses(journal.all(), true).contains(now.networkView() + "/" + now.address());
    }

    /**
     * A free address leaves the pool (changed or deleted on the grid), if it is still free: an ADD
     * may have taken it since the caller listed the free ones, and then it is that container's
     * (its tag settles it). False when it was taken.
     */
    public boolean dropIfFree(Attachment entry) {
        synchronized (takeLock) {
            if (!isStillFree(entry)) return false;
            journal.remove(entry.key());
            unconfirm(entry.networkView(), entry.address());
            return true;
        }
    }

    /** Whether any record (a container's or the pool's) names this address. */
    public boolean isRecorded(String view, String address) {
        return journal.all().stream().anyMatch(a -> address.equals(a.address()) && view.equals(a.networkView()));
    }

    /** Puts a record of an address found on the grid, unless some record names the address by now. */
    public boolean adoptIfUnrecorded(Attachment found) {
        synchronized (takeLock) {
            if (isRecorded(found.networkView(), found.address())) return false;
            journal.put(found);
            return true;
        }
    }

    /** A pool record for an address reserved (or found) on the grid. */
    public static Attachment entry(
            String network,
            String view,
            String address,
            int prefix,
            String gateway,
            String ref,
            String cidr,
            Instant now) {
        return Attachment.pending(entryKey(network, address), view, null, now)
                .withAllocation(address, prefix, gateway, ref, cidr)
                .withState(AttachmentState.POOL);
    }

    /**
     * Removes pool records whose address a container's record holds (left by a crash mid-take or
     * mid-return). A container's release still pending at the address is not a hold: its DELETE
     * was applied (and answered 5xx), and the keeper's refill was handed the freed address; that
     * pool record is the grid's entry, and dropping it (as this did, racing the release) left the
     * entry with no record (adversarial seed 1 under stress-ng, again).
     */
    public int dropShadowed() {
        synchronized (takeLock) {
            List<Attachment> all = journal.all();
            Set<String> held = heldAddresses(all, false);
            int dropped = 0;
            for (Attachment a : all) {
                if (a.state() == AttachmentState.POOL && held.contains(a.networkView() + "/" + a.address())) {
                    journal.remove(a.key());
                    dropped++;
                }
            }
            return dropped;
        }
    }

    /**
     * The addresses container records hold (anything but pool records), as view/address; a pending
     * release counts only when asked ({@link #free} keeps such an address back until the release
     * settles, {@link #dropShadowed} does not drop the refill's record there).
     */
    private static Set<String> heldAddresses(List<Attachment> all, boolean withPendingReleases) {
        Set<String> held = new HashSet<>();
        for (Attachment a : all) {
            if (isPoolKey(a.key()) || a.address() == null) continue;
            if (withPendingReleases || a.state() != AttachmentState.DEL_PENDING)
                held.add(a.networkView() + "/" + a.address());
        }
        return held;
    }

    /** The networks that have pool records (free or being released), with the view of each, network by network. */
    public Map<String, Set<String>> pooledNetworks() {
        Map<String, Set<String>> out = new java.util.TreeMap<>();
        for (Attachment a : journal.all()) {
            if (isPoolKey(a.key()) && a.address() != null)
                out.computeIfAbsent(a.key().network(), n -> new TreeSet<>()).add(a.networkView());
        }
        return out;
    }
}
