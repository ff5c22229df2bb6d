package infobloxcni.daemon.grid;

import infobloxcni.daemon.cni.AllocationScope;
import infobloxcni.daemon.cni.Ipv4Subnet;
import infobloxcni.wapi.AddressSource;

/** A network that exists on the grid, in this view, with its gateway reserved: ready to allocate from. */
public record ReadyNetwork(String view, Ipv4Subnet subnet, String gateway) {

    /**
     * Where the grid's next available address is taken from for a request of this network: its
     * range (which {@link GridNetworks#ensure} made sure of) or the whole subnet, minus the
     * excluded addresses inside it. The ADD and the pool's refill both take from here.
     */
    public AddressSource source(AllocationScope scope) {
        AllocationScope.Range range = scope.range();
        return new AddressSource(
                subnet.toString(),
                range == null ? null : range.startText(),
                range == null ? null : range.endText(),
                scope.excludedIn(subnet));
    }
}
