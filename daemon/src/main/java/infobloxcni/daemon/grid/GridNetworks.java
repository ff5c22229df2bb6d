package infobloxcni.daemon.grid;

import infobloxcni.daemon.cni.AllocationScope;
import infobloxcni.daemon.cni.Ipv4Subnet;
import infobloxcni.daemon.cni.LogText;
import infobloxcni.wapi.FixedAddress;
import infobloxcni.wapi.Network;
import infobloxcni.wapi.WapiClient;
import infobloxcni.wapi.WapiException;
import infobloxcni.wire.CniError;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Makes sure the grid holds what an allocation needs (network view, network, gateway
 * reservation) and remembers that it does, so that a warm daemon spends exactly one WAPI call
 * per ADD. The memory is dropped for a network as soon as the grid says it is gone.
 */
public final class GridNetworks {
    private static final System.Logger LOG = System.getLogger(GridNetworks.class.getName());

    private final WapiClient wapi;
    private final ReservationTags tags;
    private final java.util.function.BiConsumer<String, String> created;
    private final boolean createViews;
    private final Map<NetworkRequest, ReadyNetwork> ensured = new ConcurrentHashMap<>();
    private final Map<NetworkRequest, Object> ensuring = new ConcurrentHashMap<>();

    public GridNetworks(WapiClient wapi, ReservationTags tags) {
        this(wapi, tags, (view, cidr) -> {});
    }

    /**
     * @param created told (view, CIDR) right after a network was created, before anything is
     *                allocated from it: the journal may hold addresses in it (an operator deleted
     *                the network, and with it their reservations), which must be reserved again first
     */
    public GridNetworks(WapiClient wapi, ReservationTags tags, java.util.function.BiConsumer<String, String> created) {
        this(wapi, tags, created, true);
    }

    /** @param createViews whether a missing network view is created (as the original driver did), or refused */
    public GridNetworks(
            WapiClient wapi,
            ReservationTags tags,
            java.util.function.BiConsumer<String, String> created,
            boolean createViews) {
        this.wapi = wapi;
        this.tags = tags;
        this.created = created;
        this.createViews = createViews;
    }

    /** The network as it was last made sure of, or null when that has not happened (or was forgotten). */
    public ReadyNetwork known(NetworkRequest request) {
        return ensured.get(request);
    }

    public ReadyNetwork ensure(NetworkRequest request) throws CniError {
        ReadyNetwork known = ensured.get(request);
        if (known != null) return known;
        // One thread per network request talks to the grid; the others wait and reuse its answer.
        synchronized (ensuring.computeIfAbsent(request, p -> new Object())) {
            known = ensured.get(request);
            if (known != null) return known;
            try {
                ensureView(request.view());
                Ipv4Subnet subnet = request.subnet() != null ? ensureSubnet(request) : carveSubnet(request);
                String gateway = resolveGateway(request, subnet);
                String outOfSubnet = request.scope().problemIn(subnet); // a carved subnet is known only now
                if (outOfSubnet != null) throw new CniError(CniError.INVALID_NETCONF, outOfSubnet);
                ensureGatewayReserved(request, gateway);
                if (request.scope().range() != null) ensureRange(request, subnet);
                ReadyNetwork result = new ReadyNetwork(request.view(), subnet, gateway);
                ensured.put(request, result);
                LOG.log(
                        System.Logger.Level.INFO,
                        "network {0}: {1} in view {2}, gateway {3}",
                        request.networkName(),
                        subnet,
                        request.view(),
                        gateway);
                return result;
            } catch (WapiException e) {
                throw GridErrors.toCni(e, "preparing network " + request.networkName());
            }
        }
    }

    /** The grid said this network (or its view) is gone: look again next time. */
    public void forget(NetworkRequest request) {
        ensured.remove(request);
    }

    /**
     * The netconf's range exists on the grid with exactly its bounds, as
     * {@code func:nextavailableip:<start>-<end>} needs: one the grid holds already (a DHCP range or a
     * reserved one an operator made) is used as the grid defines it; else a reserved range (no DHCP
     * server) is created, which also keeps the network's other allocations out of it, since the
     * grid's next available address in a network skips every range. An overlap with another range
     * is refused by the grid, whose text the CNI error carries.
     */
    private void ensureRange(NetworkRequest request, Ipv4Subnet subnet) {
        AllocationScope.Range range = request.scope().range();
        if (wapi.findRange(request.view(), range.startText(), range.endText()).isPresent()) return;
        try {
            wapi.createReservedRange(
                    request.view(),
                    subnet.toString(),
                    range.startText(),
                    range.endText(),
                    // no EA: a grid may restrict the cloud EAs to the object types they were defined for
                    "infoblox-cni range of network " + request.networkName(),
                    Map.of());
            LOG.log(
                    System.Logger.Level.INFO,
                    "created reserved range {0} in {1}, view {2}, for {3}",
                    range,
                    subnet,
                    request.view(),
                    request.networkName());
        } catch (WapiException.Conflict raced) {
            // another host created it meanwhile, or it overlaps a range with other bounds: look once more
            if (wapi.findRange(request.view(), range.startText(), range.endText())
                    .isEmpty()) throw raced;
        }
    }

    private void ensureView(String view) throws CniError {
        if (wapi.getNetworkView(view).isPresent()) return;
        if (!createViews)
            throw new CniError(
                    CniError.INVALID_NETCONF,
                    "field 'ipam.network-view': the grid has no network view " + LogText.value(view)
                            + ", and --create-views=false: create it on the grid, or fix the name");
        try {
            wapi.createNetworkView(view, Map.of());
            LOG.log(System.Logger.Level.INFO, "created network view {0}", view);
        } catch (WapiException.Conflict raced) {
            // another host created it in the meantime: exactly what we wanted
        }
    }

    private Ipv4Subnet ensureSubnet(NetworkRequest request) throws CniError {
        String cidr = request.subnet().toString();
        Optional<Network> existing = wapi.getNetwork(request.view(), cidr);
        if (existing.isEmpty()) {
            try {
                wapi.createNetwork(request.view(), cidr, Map.of(ReservationTags.NETWORK_NAME, request.networkName()));
                LOG.log(
                        System.Logger.Level.INFO,
                        "created network {0} in view {1} for {2}",
                        cidr,
                        request.view(),
                        request.networkName());
                created.accept(request.view(), cidr);
                return request.subnet();
            } catch (WapiException.Conflict raced) {
                existing = wapi.getNetwork(request.view(), cidr);
                if (existing.isEmpty()) throw raced; // overlaps a different network: the grid's text says which
            }
        }
        String owner = existing.get().extattrs().get(ReservationTags.NETWORK_NAME);
        if (owner != null && !owner.equals(request.networkName())) {
            throw new CniError(
                    CniError.NETWORK_NAME_CONFLICT,
                    "subnet " + cidr + " in view " + request.view() + " already belongs to network '" + owner
                            + "', not '" + request.networkName() + "'");
        }
        return request.subnet();
    }

    /**
     * Without a subnet, every host of a CNI network must land on the same one. The network is
     * found by its {@code Network Name}; when missing, one host carves it; when two hosts carved
     * at once, all pick the lowest, and the loser gives its empty network back.
     */
    private Ipv4Subnet carveSubnet(NetworkRequest request) throws CniError {
        Optional<Network> named =
                lowest(wapi.findNetworksByEa(request.view(), ReservationTags.NETWORK_NAME, request.networkName()));
        if (named.isPresent()) return Ipv4Subnet.parse(named.get().cidr());

        List<String> refusals = new ArrayList<>();
        Network created = null;
        for (String container : request.containers()) {
            try {
                if (wapi.getNetworkContainer(request.view(), container).isEmpty()) {
                    try {
                        wapi.createNetworkContainer(request.view(), container, Map.of());
                    } catch (WapiException.Conflict raced) {
                        // created by another host meanwhile
                    }
                }
                created = wapi.createNextAvailableNetwork(
                        request.view(),
                        container,
                        request.prefixLength(),
                        Map.of(ReservationTags.NETWORK_NAME, request.networkName()));
                break;
            } catch (WapiException.Rejected | WapiException.Conflict | WapiException.NotFound refused) {
                refusals.add(container + ": " + refused.gridText());
            } catch (WapiException.Transient t) {
                if (!t.mayHaveBeenApplied()) throw t;
                break; // it may exist now: the search below tells
            }
        }
        Optional<Network> winner =
                lowest(wapi.findNetworksByEa(request.view(), ReservationTags.NETWORK_NAME, request.networkName()));
        if (winner.isEmpty()) {
            throw new CniError(
                    CniError.GRID_REJECTED,
                    "no /" + request.prefixLength() + " could be carved for network '"
                            + request.networkName() + "' in view " + request.view() + " from "
                            + String.join(", ", request.containers())
                            + (refusals.isEmpty() ? "" : ": " + String.join("; ", refusals)));
        }
        if (created != null && !created.ref().equals(winner.get().ref()))
            giveBack(created, winner.get(), request.networkName());
        else if (created != null)
            LOG.log(System.Logger.Level.INFO, "carved {0} for network {1}", created.cidr(), request.networkName());
        return Ipv4Subnet.parse(winner.get().cidr());
    }

    private void giveBack(Network ours, Network winner, String networkName) {
        try {
            if (wapi.deleteEmptyNetworkIf(ours.networkView(), ours.cidr(), ReservationTags.NETWORK_NAME, networkName)) {
                LOG.log(
                        System.Logger.Level.INFO,
                        "another host carved {0} at the same time; gave back {1}",
                        winner.cidr(),
                        ours.cidr());
            }
        } catch (WapiException e) {
            LOG.log(
                    System.Logger.Level.WARNING,
                    "could not give back duplicate network {0}: {1}",
                    ours.cidr(),
                    e.getMessage());
        }
    }

    private static Optional<Network> lowest(List<Network> networks) {
        return networks.stream()
                .min(Comparator.comparingLong(
                        n -> Integer.toUnsignedLong(Ipv4Subnet.parse(n.cidr()).base())));
    }

    /** {@code 0.0.0.1} style (host part only) means that host of the subnet; absent means the first host. */
    static String resolveGateway(NetworkRequest request, Ipv4Subnet subnet) throws CniError {
        String problem = subnet.gatewayProblem(request.gateway());
        if (problem != null) throw new CniError(CniError.INVALID_NETCONF, problem);
        return Ipv4Subnet.format(subnet.gatewayOf(request.gateway()));
    }

    private void ensureGatewayReserved(NetworkRequest request, String gateway) {
        Optional<FixedAddress> holder = wapi.findFixedAddressByIp(request.view(), gateway);
        if (holder.isPresent()) {
            String vmId = holder.get().ea(ReservationTags.VM_ID);
            if (vmId != null && !vmId.equals(ReservationTags.NO_CONTAINER)) {
                LOG.log(
                        System.Logger.Level.WARNING,
                        "gateway {0} of network {1} is reserved for container {2}",
                        gateway,
                        request.networkName(),
                        vmId);
            }
            return;
        }
        try {
            wapi.reserveAddress(request.view(), gateway, tags.forGateway(request.networkName()));
        } catch (WapiException.Conflict raced) {
            // reserved by another host meanwhile
        }
    }
}
