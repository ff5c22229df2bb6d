package infobloxcni.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import infobloxcni.daemon.cni.NetConf;
import infobloxcni.daemon.server.EnvelopeHandler;
import infobloxcni.wire.DaemonIdentity;
import infobloxcni.wire.Envelope;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * The client side of {@link AdminCommands}: what {@code infoblox-cni-daemon status} and
 * {@code infoblox-cni-recover} ask the running daemon over its socket. Like the plugin, it asks
 * only a daemon run by root or by this user ({@link DaemonIdentity}).
 */
public final class AdminClient {
    private AdminClient() {}

    /** Whether a daemon answers on this socket now. */
    public static boolean serving(Path socket) {
        if (!Files.exists(socket)) return false;
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            probe.connect(UnixDomainSocketAddress.of(socket));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Sends one admin command and returns the daemon's JSON answer.
     *
     * @throws IOException when the daemon cannot be reached, is not trusted, or refuses (its message)
     */
    public static JsonNode ask(Path socket, String command, byte[] stdin) throws IOException {
        try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            channel.connect(UnixDomainSocketAddress.of(socket));
            String impostor = DaemonIdentity.problem(channel);
            if (impostor != null) throw new IOException("refusing to ask " + socket + ": " + impostor);
            new Envelope.Request(Map.of(EnvelopeHandler.ADMIN_ENV, command), stdin)
                    .write(Channels.newOutputStream(channel));
            Envelope.Response response = Envelope.Response.read(Channels.newInputStream(channel));
            JsonNode answer = response.stdout().length == 0
                    ? NetConf.JSON.createObjectNode()
                    : NetConf.JSON.readTree(response.stdout());
            if (response.exitCode() != 0) {
                String why = answer.hasNonNull("error")
                        ? answer.get("error").asText()
                        : answer.path("msg").asText(answer.toString());
                throw new IOException("the daemon refused '" + command + "': " + why);
            }
            return answer;
        }
    }
}
