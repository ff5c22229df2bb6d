package infobloxcni.daemon.grid;

import infobloxcni.daemon.cni.Ipv4Subnet;
import infobloxcni.daemon.cni.NetConf;
import java.util.List;

/**
 * What CNI callers may ask the grid for ({@code --allowed-views}, {@code --allowed-subnets}):
 * anyone who may talk to the socket (root, and {@code --socket-group} members) writes the netconf,
 * and a netconf names a view, a subnet or network containers the daemon then creates on the grid.
 * Empty lists bound nothing (as before these flags). An ADD or CHECK out of bounds is refused with
 * code 7 naming the field; a DEL or GC out of bounds still releases what this host recorded (a
 * runtime must always be able to clean up) but starts no pool there.
 *
 * @param views   network views a netconf may name (the daemon's own --network-view is always one)
 * @param subnets CIDRs a netconf's subnet and network containers must lie within
 */
public record RequestBounds(List<String> views, List<Ipv4Subnet> subnets) {
    public static final RequestBounds ANY = new RequestBounds(List.of(), List.of());

    public RequestBounds {
        views = List.copyOf(views);
        subnets = List.copyOf(subnets);
    }

    /** From the flags' comma lists; a bad entry is refused naming its flag. */
    public static RequestBounds parse(List<String> views, List<String> subnets) {
        for (String v : views) {
            String problem = NetConf.viewProblem(v);
            if (problem != null) throw new IllegalArgumentException("--allowed-views: '" + v + "' " + problem);
        }
        List<Ipv4Subnet> parsed = subnets.stream()
                .map(s -> {
                    try {
                        return Ipv4Subnet.parse(s);
                    } catch (IllegalArgumentException e) {
                        throw new IllegalArgumentException("--allowed-subnets: " + e.getMessage());
                    }
                })
                .toList();
        return new RequestBounds(views, parsed);
    }

    /** Null when the request is within bounds, else what is out of them, naming the netconf field. */
    public String problem(NetworkRequest request) {
        if (!views.isEmpty() && !views.contains(request.view())) {
            return "field 'ipam.network-view': view '" + request.view() + "' is not one --allowed-views lists " + views;
        }
        if (subnets.isEmpty()) return null;
        if (request.subnet() != null && !within(request.subnet())) {
            return "field 'ipam.subnet': " + request.subnet() + " is not within --allowed-subnets " + subnets;
        }
        if (request.subnet() == null) {
            for (String container : request.containers()) {
                if (!within(Ipv4Subnet.parse(container)))
                    return "field 'ipam.network-container': " + container + " is not within --allowed-subnets "
                            + subnets;
            }
        }
        return null;
    }

    /** Whether {@code subnet} lies wholly inside one of the allowed CIDRs. */
    public boolean within(Ipv4Subnet subnet) {
        for (Ipv4Subnet allowed : subnets) {
            if (allowed.prefixLength() <= subnet.prefixLength() && allowed.contains(subnet.base())) return true;
        }
        return false;
    }
}
