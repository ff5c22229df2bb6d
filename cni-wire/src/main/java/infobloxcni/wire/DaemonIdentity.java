package infobloxcni.wire;

import java.io.IOException;
import java.nio.channels.SocketChannel;
import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;

/**
 * Who serves the socket a client connected to, by the kernel's SO_PEERCRED: the daemon runs as
 * root (or, in tests and by hand, as the client's own user). Anyone else on the other end got the
 * socket path by being able to write its directory, and must not be sent a request (which tells
 * it about containers) nor be believed (its answer would give a container its addresses, routes
 * and DNS). Asked by the plugin and by the recover command before they send anything.
 */
public final class DaemonIdentity {
    private DaemonIdentity() {}

    /**
     * Null when the peer of {@code channel} is root or this process's own user; otherwise why the
     * client must not go on. When the kernel does not say (a platform without SO_PEERCRED), the
     * socket file's permissions are all there is, and null is returned.
     */
    public static String problem(SocketChannel channel) {
        UnixDomainPrincipal peer;
        try {
            peer = channel.getOption(ExtendedSocketOptions.SO_PEERCRED);
        } catch (IOException | UnsupportedOperationException e) {
            return null;
        }
        String user = peer.user().getName();
        if (user.equals("root") || user.equals(System.getProperty("user.name"))) {
            return null;
        }
        return "it is served by user " + user + ", not by root (infoblox-cni-daemon runs as root)";
    }
}
