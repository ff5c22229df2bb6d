package infobloxcni.daemon.grid;

import infobloxcni.daemon.cni.Ipv4Subnet;

/** A network that exists on the grid, in this view, with its gateway reserved: ready to allocate from. */
public record ReadyNetwork(String view, Ipv4Subnet subnet, String gateway) {}
