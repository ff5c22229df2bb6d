package infobloxcni.daemon.grid;

import infobloxcni.daemon.cni.AllocationScope;
import infobloxcni.daemon.cni.Ipv4Subnet;
import java.util.List;

/**
 * The network a request asks for: its netconf merged with the daemon's defaults (the netconf
 * wins). {@code subnet} null: carve one from {@code containers}; {@code gateway} as written;
 * {@code scope} where in the subnet its addresses may come from.
 */
public record NetworkRequest(
        String view,
        String networkName,
        Ipv4Subnet subnet,
        List<String> containers,
        int prefixLength,
        String gateway,
        AllocationScope scope) {

    /** A request for the whole subnet (no range, nothing excluded). */
    public NetworkRequest(
            String view,
            String networkName,
            Ipv4Subnet subnet,
            List<String> containers,
            int prefixLength,
            String gateway) {
        this(view, networkName, subnet, containers, prefixLength, gateway, AllocationScope.WHOLE);
    }
}
