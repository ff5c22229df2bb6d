package infobloxcni.daemon;

/** A network that exists on the grid, in this view, with its gateway reserved: ready to allocate from. */
record ReadyNetwork(String view, Ipv4Subnet subnet, String gateway) {}
