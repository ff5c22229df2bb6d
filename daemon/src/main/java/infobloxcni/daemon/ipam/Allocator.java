package infobloxcni.daemon.ipam;

import infobloxcni.daemon.cni.CniRequest;
import infobloxcni.daemon.cni.CniResults;
import infobloxcni.daemon.cni.Ipv4Subnet;
import infobloxcni.daemon.cni.NetConf;
import infobloxcni.daemon.cni.RequestedAddress;
import infobloxcni.daemon.grid.GridErrors;
import infobloxcni.daemon.grid.GridNetworks;
import infobloxcni.daemon.grid.NetworkRequest;
import infobloxcni.daemon.grid.ReadyNetwork;
import infobloxcni.daemon.grid.ReservationTags;
import infobloxcni.daemon.settle.PoolKeeper;
import infobloxcni.daemon.settle.Reconciler;
import infobloxcni.daemon.settle.Settler;
import infobloxcni.daemon.state.AddressPool;
import infobloxcni.daemon.state.JournalGuard;
import infobloxcni.store.Attachment;
import infobloxcni.store.AttachmentKey;
import infobloxcni.store.AttachmentState;
import infobloxcni.wapi.FixedAddress;
import infobloxcni.wapi.FixedAddressSpec;
import infobloxcni.wapi.GridHealth;
import infobloxcni.wapi.WapiClient;
import infobloxcni.wapi.WapiException;
import infobloxcni.wire.CniError;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Which address an ADD gets, and the grid's confirmation that it is this container's: the
 * allocation policy, in one place, as host-local's allocator is one. This host's pool first (the
 * lowest free address, answered once its verified tag made the grid show it as this
 * container's; while the grid is known down, one the grid confirmed since the start, with no
 * grid call), else the grid's next free address in the network (one POST, its intent on disk
 * first), or, when the runtime asked for an address, exactly that one (never the pool's next:
 * this host's pool entry there is taken, else one POST of that address). {@link Ipam} decides,
 * from the journal, whether an ADD needs an address at all; this class finds it.
 */
final class Allocator {
    private static final System.Logger LOG = System.getLogger(Allocator.class.getName());

    private final WapiClient wapi;
    private final JournalGuard journal;
    private final GridNetworks networks;
    private final Settler settler;
    private final AddressPool pool;
    private final Reconciler reconciler;
    private final PoolKeeper keeper;
    private final Clock clock;

    Allocator(
            WapiClient wapi,
            JournalGuard journal,
            GridNetworks networks,
            Settler settler,
            AddressPool pool,
            Reconciler reconciler,
            PoolKeeper keeper,
            Clock clock) {
        this.wapi = wapi;
        this.journal = journal;
        this.networks = networks;
        this.settler = settler;
        this.pool = pool;
        this.reconciler = reconciler;
        this.keeper = keeper;
        this.clock = clock;
    }

    /** Whether the grid is known to be down: calls fail at once, and the pool answers alone. */
    private boolean down() {
        return wapi.health().failingFast();
    }

    /**
     * Takes the lowest free pool address and, with the grid up, answers it only once the verified
     * tag made the grid show it as this container's (one round trip with the request object; an
     * address found deleted or someone else's leaves the pool, and the next is tried). With the
     * grid down, only an address the grid confirmed since the start is taken, with no grid call;
     * its tag follows behind the answer when the grid is back. Empty when the pool has none.
     */
    Optional<Ipam.Added> fromPool(NetConf conf, NetworkRequest network, AttachmentKey key, CniRequest request)
            throws CniError {
        for (; ; ) {
            boolean outage = down();
            Attachment taken = pool.take(
                            key,
                            network.view(),
                            subnetOf(network),
                            network.scope(),
                            request.mac(),
                            request.podName(),
                            clock.instant(),
                            outage)
                    .orElse(null);
            if (taken == null) return Optional.empty();
            keeper.signal();
            if (outage) return Optional.of(answeredInOutage(conf, network, taken));
            Optional<Ipam.Added> tagged = tagNow(conf, network, taken);
            if (tagged.isPresent()) return tagged;
        }
    }

    /**
     * A pool address (or a returned one) this attachment holds but the grid has not confirmed:
     * confirm it now (a runtime retrying an ADD that could not be confirmed; a container added
     * again after its DEL gave the address back to the pool). Empty when it is not ours any more.
     */
    Optional<Ipam.Added> confirmHeld(NetConf conf, NetworkRequest network, Attachment known, CniRequest request)
            throws CniError {
        if (down() && !pool.isConfirmed(known.networkView(), known.address())) throw downAndNoPool(network);
        Attachment held = known;
        if (held.state() == AttachmentState.RETURN_PENDING) {
            journal.put(held.withState(AttachmentState.TAG_PENDING).withPodName(request.podName()));
            held = journal.get(held.key()).orElseThrow();
        }
        return down() ? Optional.of(answeredInOutage(conf, network, held)) : tagNow(conf, network, held);
    }

    /** The verified tag of an address this ADD holds, before it is answered. Empty when it is not ours. */
    private Optional<Ipam.Added> tagNow(NetConf conf, NetworkRequest network, Attachment taken) throws CniError {
        try {
            return switch (settler.tag(taken, false)) {
                case TAGGED, CHANGED ->
                    Optional.of(added(conf, journal.get(taken.key()).orElseThrow(), network));
                case NOT_OURS -> Optional.empty();
            };
        } catch (WapiException.Transient unknown) {
            // The grid went away during the tag: the outage rule applies if it is known down now.
            if (down() && pool.isConfirmed(taken.networkView(), taken.address()))
                return Optional.of(
                        answeredInOutage(conf, network, journal.get(taken.key()).orElseThrow()));
            // The record keeps the address: the runtime's retry confirms it, a DEL gives it back.
            settler.notAnswered(taken.key());
            throw GridErrors.toCni(unknown, "tagging pool address " + taken.address());
        } catch (WapiException refused) {
            settler.untake(taken); // the grid refused the write: the address is still the pool's
            throw GridErrors.toCni(refused, "tagging pool address " + taken.address());
        }
    }

    /** Answered from the pool while the grid is down: no grid call; the tag follows when the grid is back. */
    private Ipam.Added answeredInOutage(NetConf conf, NetworkRequest network, Attachment taken) throws CniError {
        LOG.log(
                System.Logger.Level.INFO,
                "{0} answered {1} from the pool while the grid is down; its tag follows when the grid is back",
                taken.key(),
                taken.address());
        settler.answered(taken.key());
        reconciler.settleBehind(taken.key());
        return added(conf, taken, network);
    }

    /** The grid is down and the pool has no address the grid confirmed since the start. */
    CniError downAndNoPool(NetworkRequest network) {
        GridHealth health = wapi.health();
        return new CniError(
                CniError.TRY_AGAIN_LATER,
                "the grid is down since " + health.since()
                        + (health.lastError() == null ? "" : " (" + health.lastError() + ")")
                        + " and the pool of network " + network.networkName()
                        + " has no address the grid confirmed since the daemon started; try again");
    }

    /** The subnet a network's pool addresses must be in: the netconf's, else the one last made sure of, else any. */
    String subnetOf(NetworkRequest network) {
        if (network.subnet() != null) return network.subnet().toString();
        ReadyNetwork ready = networks.known(network);
        return ready == null ? null : ready.subnet().toString();
    }

    /**
     * The grid's next free address in the network, or the address the runtime asked for, reserved
     * for this attachment (see {@link #reserveOnce}). A network the grid says is gone (deleted
     * behind our back) is made sure of again (created anew, the addresses this host's records hold
     * in it reserved again first), then tried once more.
     */
    Ipam.Added reserve(NetConf conf, NetworkRequest network, CniRequest request, Attachment unknown) throws CniError {
        try {
            return reserveOnce(conf, network, request, unknown);
        } catch (NetworkGone gone) {
            networks.forget(network);
            try {
                return reserveOnce(
                        conf, network, request, journal.get(Ipam.keyOf(request)).orElse(null));
            } catch (NetworkGone again) {
                throw again.answer;
            }
        }
    }

    /**
     * One POST: the grid picks the lowest free address (or reserves the one the runtime asked for)
     * and the answer carries it; the intent (ADD_PENDING, with its subnet) is on disk first. When
     * an earlier attempt's outcome is unknown ({@code unknown} is its ADD_PENDING), the grid is
     * searched first and what that attempt reserved is adopted. A POST whose outcome is unknown (a
     * lost answer, a 5xx) keeps the intent and looks at once. A requested address is checked
     * against the network before anything is written, taken from this host's pool when the pool
     * holds it, and refused (106) when the grid holds it for someone else.
     */
    private Ipam.Added reserveOnce(NetConf conf, NetworkRequest network, CniRequest request, Attachment unknown)
            throws CniError, NetworkGone {
        ReadyNetwork ready = networks.ensure(network);
        String cidr = ready.subnet().toString();
        AttachmentKey key = Ipam.keyOf(request);
        RequestedAddress wanted = request.requested();
        if (wanted != null) {
            String problem = wanted.problemIn(ready.subnet(), Ipv4Subnet.parseAddress(ready.gateway()));
            if (problem == null) problem = wanted.problemIn(network.scope());
            if (problem != null) throw new CniError(CniError.INVALID_NETCONF, problem);
            if (unknown == null) {
                Optional<Ipam.Added> pooled = fromPoolExactly(conf, network, ready, key, request);
                if (pooled.isPresent()) return pooled.get();
            }
        }
        Attachment intent = (unknown != null
                        ? unknown
                        : Attachment.pending(key, ready.view(), request.mac(), clock.instant()))
                .withAllocation(
                        wanted == null ? null : wanted.text(),
                        ready.subnet().prefixLength(),
                        ready.gateway(),
                        null,
                        cidr)
                .withRequested(wanted != null)
                .withAttempt();
        journal.put(intent);
        intent = journal.get(key).orElseThrow();

        FixedAddress reservation = null;
        var spec = settler.tags().forContainer(key, intent.mac(), request.podName());
        try {
            if (unknown != null) reservation = settler.adoptExisting(intent).orElse(null);
            if (reservation == null)
                reservation = wanted == null
                        ? wapi.reserveNextAvailableIp(ready.view(), ready.source(network.scope()), spec)
                        : wapi.reserveAddress(ready.view(), wanted.text(), spec);
        } catch (WapiException.Transient lost) {
            if (!lost.mayHaveBeenApplied()) {
                forgetIntent(intent);
                throw GridErrors.toCni(lost, "reserving an address");
            }
            journal.put(intent.withError(lost.getMessage()));
            reservation = lookQuietly(journal.get(key).orElseThrow());
            if (reservation == null) throw GridErrors.toCni(lost, "reserving an address");
        } catch (WapiException.Conflict taken) {
            // only a requested address can be taken: the grid's next available one is free by definition
            reservation = wanted == null ? null : ownReservationAt(intent);
            if (reservation == null) {
                forgetIntent(intent);
                throw wanted == null
                        ? GridErrors.toCni(taken, "reserving an address in " + cidr)
                        : takenBy(ready.view(), wanted, key, taken);
            }
        } catch (WapiException refused) {
            forgetIntent(intent);
            CniError answer = GridErrors.toCni(
                    refused, "reserving " + (wanted == null ? "an address" : wanted.text()) + " in " + cidr);
            if (GridErrors.networkGone(refused)) throw new NetworkGone(answer);
            throw answer;
        }

        // the subnet is known here: no need to trust the answer's network field
        Attachment allocated = intent.withAllocation(
                        reservation.ipv4addr(), ready.subnet().prefixLength(), ready.gateway(), reservation.ref(), cidr)
                .withError(null)
                .withState(AttachmentState.ALLOCATED);
        journal.put(allocated);
        pool.confirm(allocated.networkView(), allocated.address());
        keeper.signal(); // the network is in use: keep its pool filled
        return new Ipam.Added(CniResults.added(conf, allocated, ready.gateway()), allocated);
    }

    /**
     * The address the runtime asked for is this host's free pool entry: it becomes the
     * container's by the verified tag, as any pool address does, and is marked requested (its DEL
     * releases it). Empty when the pool holds no entry there, or the tag found it not ours.
     */
    private Optional<Ipam.Added> fromPoolExactly(
            NetConf conf, NetworkRequest network, ReadyNetwork ready, AttachmentKey key, CniRequest request)
            throws CniError {
        Attachment taken = pool.takeExactly(
                        key,
                        ready.view(),
                        ready.subnet().toString(),
                        request.requested().text(),
                        request.mac(),
                        request.podName(),
                        clock.instant())
                .orElse(null);
        if (taken == null) return Optional.empty();
        journal.put(taken.withRequested(true));
        keeper.signal();
        if (down()) throw downAndNoPool(network); // never answered without the grid: it was asked for by name
        return tagNow(conf, network, journal.get(key).orElseThrow());
    }

    /** After the grid refused a requested address as taken: the reservation there, when it is this attachment's. */
    private FixedAddress ownReservationAt(Attachment intent) {
        try {
            return wapi.findFixedAddressByIp(intent.networkView(), intent.address())
                    .filter(r -> settler.tags().owns(r, intent.key()))
                    .orElse(null);
        } catch (WapiException e) {
            return null;
        }
    }

    /**
     * The refusal of a requested address the grid holds for someone else (106): which container
     * of this host holds it, or what the grid's reservation says, and the grid's own text.
     */
    private CniError takenBy(String view, RequestedAddress wanted, AttachmentKey key, WapiException.Conflict taken) {
        String holder;
        try {
            FixedAddress r = wapi.findFixedAddressByIp(view, wanted.text()).orElse(null);
            AttachmentKey other = r == null ? null : settler.tags().keyOf(r);
            if (other != null)
                holder = "container " + other.containerId() + " on " + other.ifName() + " in network " + other.network()
                        + " of this host holds it";
            else if (r != null && settler.tags().isPoolEntry(r, key.network()))
                holder = "this host's warm pool is taking it (try again)";
            else if (r != null) holder = "the grid reserves it for " + describe(r);
            else holder = "the grid holds it";
        } catch (WapiException lookFailed) {
            holder = "the grid holds it";
        }
        return new CniError(
                CniError.ADDRESS_TAKEN,
                "field '" + wanted.field() + "': " + wanted.text() + " is not free: " + holder + " (the grid says: "
                        + taken.gridText() + ")",
                taken.getMessage());
    }

    /** A reservation that is not ours, as an operator would recognize it (its VM ID, name, comment, MAC). */
    private static String describe(FixedAddress r) {
        List<String> parts = new ArrayList<>();
        String vmId = r.ea(ReservationTags.VM_ID);
        if (vmId != null) parts.add("VM ID " + vmId);
        if (r.name() != null && !r.name().isEmpty()) parts.add("name " + r.name());
        if (r.comment() != null && !r.comment().isEmpty()) parts.add("comment '" + r.comment() + "'");
        if (r.mac() != null && !r.mac().equals(FixedAddressSpec.NO_MAC)) parts.add("MAC " + r.mac());
        return parts.isEmpty() ? "another client" : String.join(", ", parts);
    }

    /** After a POST whose outcome is unknown: what it reserved, if the grid shows it now. */
    private FixedAddress lookQuietly(Attachment intent) {
        try {
            return settler.adoptExisting(intent).orElse(null);
        } catch (WapiException e) {
            return null;
        }
    }

    /** The answer for an attachment that holds its address already (its gateway as recorded, else the network's). */
    Ipam.Added added(NetConf conf, Attachment a, NetworkRequest network) throws CniError {
        return new Ipam.Added(
                CniResults.added(
                        conf,
                        a,
                        a.gateway() != null
                                ? a.gateway()
                                : networks.ensure(network).gateway()),
                a);
    }

    /** The grid certainly holds nothing for this attempt: the intent can go. */
    private void forgetIntent(Attachment intent) {
        if (intent.attempts() <= 1) journal.remove(intent.key());
        else journal.put(intent.withError("last attempt refused"));
    }

    /** The grid refused a reservation because the network is not there (any more). */
    private static final class NetworkGone extends Exception {
        final CniError answer;

        NetworkGone(CniError answer) {
            super(answer.getMessage(), null, false, false);
            this.answer = answer;
        }
    }
}
