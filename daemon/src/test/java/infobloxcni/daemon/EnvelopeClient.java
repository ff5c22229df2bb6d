package infobloxcni.daemon;

import infobloxcni.wire.Envelope;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.TreeMap;

/**
 * Run as another user by the tests: sends one envelope to the daemon's socket and prints the
 * answer as {@code exit=<code>} and the stdout on the next line.
 * Arguments: socket path, stdin text, then {@code NAME=VALUE} fields.
 */
public final class EnvelopeClient {
    private EnvelopeClient() {}

    public static void main(String[] args) throws Exception {
        TreeMap<String, String> env = new TreeMap<>();
        for (int i = 2; i < args.length; i++) {
            int eq = args[i].indexOf('=');
            env.put(args[i].substring(0, eq), args[i].substring(eq + 1));
        }
        try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            channel.connect(UnixDomainSocketAddress.of(Path.of(args[0])));
            new Envelope.Request(env, args[1].getBytes(StandardCharsets.UTF_8))
                    .write(Channels.newOutputStream(channel));
            Envelope.Response response = Envelope.Response.read(Channels.newInputStream(channel));
            System.out.println("exit=" + response.exitCode());
            System.out.println(new String(response.stdout(), StandardCharsets.UTF_8));
        }
    }
}
