package infobloxcni.daemon;

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
final class GridNetworks {
    private static final System.Logger LOG = System.getLogger(GridNetworks.class.getName());

    private final WapiClient wapi;
    private final ReservationTags tags;
    private final java.util.function.BiConsumer<String, String> created;
    private final Map<NetworkRequest, ReadyNetwork> ensured = new ConcurrentHashMap<>();
    private final Map<NetworkRequest, Object> ensuring = new ConcurrentHashMap<>();

    GridNetworks(WapiClient wapi, ReservationTags tags) {
        this(wapi, tags, (view, cidr) -> {});
    }

    /**
     * @param created told (view, CIDR) right after a network was created, before anything is
     *                allocated from it: the journal may hold addresses in it (an operator deleted
     *                the network, and with it their reservations), which must be reserved again first
     */
    GridNetworks(WapiClient wapi, ReservationTags tags, java.util.function.BiConsumer<String, String> created) {
        this.wapi = wapi;
        this.tags = tags;
        this.created = created;
    }

    /** The network as it was last made sure of, or null when that has not happened (or was forgotten). */
    ReadyNetwork known(NetworkRequest policy) {
        return ensured.get(policy);
    }

    ReadyNetwork ensure(NetworkRequest policy) throws CniError {
        ReadyNetwork known = ensured.get(policy);
        if (known != null) return known;
        // One thread per policy talks to the grid; the others wait and reuse its answer.
        synchronized (ensuring.computeIfAbsent(policy, p -> new Object())) {
            known = ensured.get(policy);
            if (known != null) return known;
            try {
                ensureView(policy.view());
                Ipv4Subnet subnet = policy.subnet() != null ? ensureSubnet(policy) : carveSubnet(policy);
                String gateway = resolveGateway(policy, subnet);
                ensureGatewayReserved(policy, gateway);
                ReadyNetwork result = new ReadyNetwork(policy.view(), subnet, gateway);
                ensured.put(policy, result);
                LOG.log(
                        System.Logger.Level.INFO,
                        "network {0}: {1} in view {2}, gateway {3}",
                        policy.networkName(),
                        subnet,
                        policy.view(),
                        gateway);
                return result;
            } catch (WapiException e) {
                throw GridErrors.toCni(e, "preparing network " + policy.networkName());
            }
        }
    }

    /** The grid said this network (or its view) is gone: look again next time. */
    void forget(NetworkRequest policy) {
        ensured.remove(policy);
    }

    private void ensureView(String view) {
        if (wapi.getNetworkView(view).isPresent()) return;
        try {
            wapi.createNetworkView(view, Map.of());
            LOG.log(System.Logger.Level.INFO, "created network view {0}", view);
        } catch (WapiException.Conflict raced) {
            // another host created it in the meantime: exactly what we wanted
        }
    }

    private Ipv4Subnet ensureSubnet(NetworkRequest policy) throws CniError {
        String cidr = policy.subnet().toString();
        Optional<Network> existing = wapi.getNetwork(policy.view(), cidr);
        if (existing.isEmpty()) {
            try {
                wapi.createNetwork(policy.view(), cidr, Map.of(ReservationTags.NETWORK_NAME, policy.networkName()));
                LOG.log(
                        System.Logger.Level.INFO,
                        "created network {0} in view {1} for {2}",
                        cidr,
                        policy.view(),
                        policy.networkName());
                created.accept(policy.view(), cidr);
                return policy.subnet();
            } catch (WapiException.Conflict raced) {
                existing = wapi.getNetwork(policy.view(), cidr);
                if (existing.isEmpty()) throw raced; // overlaps a different network: the grid's text says which
            }
        }
        String owner = existing.get().extattrs().get(ReservationTags.NETWORK_NAME);
        if (owner != null && !owner.equals(policy.networkName())) {
            throw new CniError(
                    CniError.NETWORK_NAME_CONFLICT,
                    "subnet " + cidr + " in view " + policy.view() + " already belongs to network '" + owner
                            + "', not '" + policy.networkName() + "'");
        }
        return policy.subnet();
    }

    /**
     * Without a subnet, every host of a CNI network must land on the same one. The network is
     * found by its {@code Network Name}; when missing, one host carves it; when two hosts carved
     * at once, all pick the lowest, and the loser gives its empty network back.
     */
    private Ipv4Subnet carveSubnet(NetworkRequest policy) throws CniError {
        Optional<Network> named =
                lowest(wapi.findNetworksByEa(policy.view(), ReservationTags.NETWORK_NAME, policy.networkName()));
        if (named.isPresent()) return Ipv4Subnet.parse(named.get().cidr());

        List<String> refusals = new ArrayList<>();
        Network created = null;
        for (String container : policy.containers()) {
            try {
                if (wapi.getNetworkContainer(policy.view(), container).isEmpty()) {
                    try {
                        wapi.createNetworkContainer(policy.view(), container, Map.of());
                    } catch (WapiException.Conflict raced) {
                        // created by another host meanwhile
                    }
                }
                created = wapi.createNextAvailableNetwork(
                        policy.view(),
                        container,
                        policy.prefixLength(),
                        Map.of(ReservationTags.NETWORK_NAME, policy.networkName()));
                break;
            } catch (WapiException.Rejected | WapiException.Conflict | WapiException.NotFound refused) {
                refusals.add(container + ": " + refused.gridText());
            } catch (WapiException.Transient t) {
                if (!t.mayHaveBeenApplied()) throw t;
                break; // it may exist now: the search below tells
            }
        }
        Optional<Network> winner =
                lowest(wapi.findNetworksByEa(policy.view(), ReservationTags.NETWORK_NAME, policy.networkName()));
        if (winner.isEmpty()) {
            throw new CniError(
                    CniError.GRID_REJECTED,
                    "no /" + policy.prefixLength() + " could be carved for network '"
                            + policy.networkName() + "' in view " + policy.view() + " from "
                            + String.join(", ", policy.containers())
                            + (refusals.isEmpty() ? "" : ": " + String.join("; ", refusals)));
        }
        if (created != null && !created.ref().equals(winner.get().ref()))
            giveBack(created, winner.get(), policy.networkName());
        else if (created != null)
            LOG.log(System.Logger.Level.INFO, "carved {0} for network {1}", created.cidr(), policy.networkName());
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
    static String resolveGateway(NetworkRequest policy, Ipv4Subnet subnet) throws CniError {
        int gateway;
        if (policy.gateway() == null) {
            gateway = subnet.base() + 1;
        } else {
            int written = Ipv4Subnet.parseAddress(policy.gateway());
            gateway = (written & Ipv4Subnet.mask(subnet.prefixLength())) == 0 ? subnet.base() | written : written;
        }
        if (!subnet.isUsableHost(gateway)) {
            throw new CniError(
                    CniError.INVALID_NETCONF,
                    "field 'ipam.gateway': " + (policy.gateway() == null ? "" : policy.gateway() + " -> ")
                            + Ipv4Subnet.format(gateway) + " is not a usable host address of " + subnet);
        }
        return Ipv4Subnet.format(gateway);
    }

    private void ensureGatewayReserved(NetworkRequest policy, String gateway) {
        Optional<FixedAddress> holder = wapi.findFixedAddressByIp(policy.view(), gateway);
        if (holder.isPresent()) {
            String vmId = holder.get().ea(ReservationTags.VM_ID);
            if (vmId != null && !vmId.equals(ReservationTags.NO_CONTAINER)) {
                LOG.log(
                        System.Logger.Level.WARNING,
                        "gateway {0} of network {1} is reserved for container {2}",
                        gateway,
                        policy.networkName(),
                        vmId);
            }
            return;
        }
        try {
            wapi.reserveAddress(policy.view(), gateway, tags.forGateway(policy.networkName()));
        } catch (WapiException.Conflict raced) {
            // reserved by another host meanwhile
        }
    }
}
