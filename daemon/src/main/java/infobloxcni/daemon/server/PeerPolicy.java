package infobloxcni.daemon.server;

import infobloxcni.daemon.cni.CniResults;
import infobloxcni.daemon.cni.NetConf;
import infobloxcni.wire.CniError;
import infobloxcni.wire.Envelope;
import java.io.IOException;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipal;
import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;
import org.newsclub.net.unix.AFUNIXSocketChannel;
import org.newsclub.net.unix.AFUNIXSocketCredentials;

/**
 * Who is on the other end of a connection (the kernel's SO_PEERCRED, read on accept) and what it
 * may ask for:
 * <ul>
 *   <li>root, or the uid the daemon runs as: everything, including the admin requests of
 *       {@code infoblox-cni-recover} (journal dump, audit, {@code --apply}, which releases
 *       reservations);</li>
 *   <li>any other peer: CNI requests only, and only when the operator opened the socket to a group
 *       ({@code --socket-group}, or a systemd socket unit that grants its group access). The kernel
 *       already checked the group when it let the peer connect: the socket's mode grants nothing to
 *       others (the daemon refuses to start with such a mode). Admin requests never.</li>
 * </ul>
 * A peer whose credentials cannot be read counts as unprivileged.
 */
public final class PeerPolicy {
    /** The peer of one connection. {@code key} tells peers apart (connection caps, log limits). */
    public record Peer(String key, boolean privileged, long pid) {
        static final Peer UNKNOWN = new Peer("unknown peer", false, -1);

        @Override
        public String toString() {
            return key + (pid > 0 ? " (pid " + pid + ")" : "");
        }
    }

    private static final UserPrincipal ROOT = principal("root");
    private static final UserPrincipal SELF = owner(Path.of("/proc/self"));
    private static final long SELF_UID = selfUid();

    private final boolean groupMayUse;

    /** @param groupMayUse whether the socket is open to a group whose members may make CNI requests */
    PeerPolicy(boolean groupMayUse) {
        this.groupMayUse = groupMayUse;
    }

    boolean groupMayUse() {
        return groupMayUse;
    }

    /**
     * Reads the peer's credentials; {@link Peer#UNKNOWN} when the kernel does not tell. Called by
     * the acceptor for every connection, before it counts. Under socket activation junixsocket
     * reads SO_PEERCRED's numbers alone; on the socket the daemon binds, the JDK's SO_PEERCRED
     * also looks up the user and group names (NSS: /etc/passwd and /etc/group, or nscd/sssd's
     * caches), about 20 µs a connection on the test machines. The JDK has no way to read the
     * numbers alone from one of its channels, and binding the socket with junixsocket instead
     * would put every connection's blocking reads through its virtual-thread poller.
     */
    static Peer identify(SocketChannel channel) {
        try {
            if (channel instanceof AFUNIXSocketChannel inherited) { // socket activation: junixsocket's channel
                AFUNIXSocketCredentials c = inherited.getPeerCredentials();
                if (c == null || c.getUid() < 0) return Peer.UNKNOWN;
                return new Peer("uid " + c.getUid(), c.getUid() == 0 || c.getUid() == SELF_UID, c.getPid());
            }
            UnixDomainPrincipal p = channel.getOption(ExtendedSocketOptions.SO_PEERCRED);
            UserPrincipal user = p.user();
            return new Peer("user " + user.getName(), user.equals(ROOT) || user.equals(SELF), -1);
        } catch (IOException | RuntimeException e) {
            return Peer.UNKNOWN;
        }
    }

    /** Null when {@code peer} may make {@code request}; otherwise the answer that refuses it. */
    Envelope.Response refusal(Peer peer, Envelope.Request request) {
        if (peer.privileged()) return null;
        if (request.env().containsKey(EnvelopeHandler.ADMIN_ENV)) {
            String msg = "admin requests (infoblox-cni-recover) are taken from root only; this one came from " + peer;
            return new Envelope.Response(
                    2,
                    NetConf.JSON.createObjectNode().put("error", msg).toString().getBytes(StandardCharsets.UTF_8));
        }
        if (groupMayUse) return null;
        String msg =
                "infoblox-cni-daemon takes CNI requests from root only (no --socket-group was given); this one came from "
                        + peer;
        return new Envelope.Response(
                1,
                CniResults.error(
                        NetConf.versionOf(request.stdin()),
                        new CniError(
                                CniError.PEER_NOT_ALLOWED,
                                msg,
                                "to let a group's members use the daemon, start it with --socket-group <group> --socket-mode rw-rw----")));
    }

    private static UserPrincipal principal(String name) {
        try {
            return Path.of("/").getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName(name);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private static UserPrincipal owner(Path p) {
        try {
            return Files.getOwner(p);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private static long selfUid() {
        try {
            return ((Number) Files.getAttribute(Path.of("/proc/self"), "unix:uid")).longValue();
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }
}
