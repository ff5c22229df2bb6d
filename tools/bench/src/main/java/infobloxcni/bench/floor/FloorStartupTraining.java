package infobloxcni.bench.floor;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * The training workload for the floor client's AOT cache, run under {@code -XX:AOTCacheOutput}
 * with the plugin's flags, as {@code bin/infoblox --train} runs the plugin's: three rounds of
 * {@link FloorClient#run} against a fake daemon in this JVM, answers checked.
 */
public final class FloorStartupTraining {
    private static final byte[] ANSWER =
            "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.2/24\"}]}".getBytes(StandardCharsets.UTF_8);

    private FloorStartupTraining() {}

    public static void main(String[] args) throws Exception {
        Path dir = Files.createTempDirectory("infoblox-cni-floor-train");
        Path socket = dir.resolve("floor.sock");
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        Thread daemon = new Thread(() -> serve(server), "fake-daemon");
        daemon.setDaemon(true);
        daemon.start();
        try {
            Map<String, String> env = new HashMap<>();
            env.put("CNI_COMMAND", "ADD");
            env.put("CNI_CONTAINERID", "train-0123456789");
            env.put("CNI_NETNS", "/var/run/netns/train");
            env.put("CNI_IFNAME", "eth0");
            env.put("CNI_PATH", "/opt/cni/bin");
            env.put("PATH", "/usr/bin");
            byte[] netconf = "{\"cniVersion\":\"1.0.0\",\"name\":\"train\",\"ipam\":{\"type\":\"infoblox\"}}"
                    .getBytes(StandardCharsets.UTF_8);
            for (int i = 0; i < 3; i++) {
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                int code = FloorClient.run(socket.toString(), env, new ByteArrayInputStream(netconf), out);
                if (code != 0 || !out.toString(StandardCharsets.UTF_8).contains("10.0.0.2")) {
                    throw new IllegalStateException("floor training call answered " + code + ": " + out);
                }
            }
        } finally {
            server.close();
            Files.deleteIfExists(socket);
            Files.deleteIfExists(dir);
        }
    }

    /** Reads each request to its end and answers exit 0 with {@link #ANSWER}. */
    private static void serve(ServerSocketChannel server) {
        while (server.isOpen()) {
            try (SocketChannel ch = server.accept()) {
                InputStream in = java.nio.channels.Channels.newInputStream(ch);
                in.readAllBytes(); // the client half-closes after its request
                ByteBuffer answer = ByteBuffer.allocate(11 + ANSWER.length);
                answer.put(new byte[] {'I', 'B', 'C', 'N', 'I', 1, 0})
                        .putInt(ANSWER.length)
                        .put(ANSWER)
                        .flip();
                while (answer.hasRemaining()) ch.write(answer);
            } catch (IOException e) {
                if (server.isOpen()) e.printStackTrace();
            }
        }
    }
}
