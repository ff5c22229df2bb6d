package infobloxcni.plugin;

import infobloxcni.wire.Envelope;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * The training workload for the plugin's start-up archive ({@code bin/infoblox --train} runs it
 * with {@code -XX:AOTCacheOutput}). It drives {@link PluginMain#run} through the paths a runtime
 * uses (VERSION, ADD, DEL, CHECK, STATUS, GC against an in-process fake daemon, and the error paths)
 * and checks the answers, so a broken build fails here too. It prints nothing on stdout.
 */
public final class StartupTraining {

    private static final String ADD_RESULT =
            "{\"cniVersion\":\"1.1.0\",\"ips\":[{\"address\":\"10.0.0.2/24\",\"gateway\":\"10.0.0.1\"}],\"dns\":{}}";

    private StartupTraining() {}

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        Path dir = Files.createTempDirectory("infoblox-cni-train");
        Path socket = dir.resolve("infoblox.sock");
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        Thread daemon = new Thread(new FakeDaemon(server), "fake-daemon");
        daemon.setDaemon(true);
        daemon.start();
        try {
            String netconf = "{\"cniVersion\":\"1.1.0\",\"name\":\"train\",\"type\":\"bridge\",\"bridge\":\"cni0\","
                    + "\"ipam\":{\"type\":\"infoblox\",\"socket-dir\":" + MiniJson.quote(dir.toString())
                    + ",\"daemon-timeout\":30,\"subnet\":\"10.0.0.0/24\",\"gateway\":\"0.0.0.1\","
                    + "\"routes\":[{\"dst\":\"0.0.0.0/0\"}],\"network-view\":\"default\",\"prefix-length\":24},"
                    + "\"runtimeConfig\":{\"mac\":\"aa:bb:cc:dd:ee:ff\"},\"args\":{\"x\":[1,2.5,-3e2,true,false,null,"
                    + "\"\\u00e9\\ud83d\\ude00\\n\"]}}";
            // a short connect retry: trains the restart path without making training slow
            String missing = netconf.replace(
                            dir.toString(), dir.resolve("nowhere").toString())
                    .replace("\"daemon-timeout\":30,", "\"daemon-timeout\":30,\"daemon-connect-timeout\":0.05,");
            for (int i = 0; i < rounds; i++) {
                expect("VERSION", netconf, 0, "\"supportedVersions\"");
                expect("ADD", netconf, 0, ADD_RESULT);
                expect("DEL", netconf, 0, "");
                expect("CHECK", netconf, 0, "");
                expect("STATUS", netconf, 0, "");
                expect("GC", netconf, 0, "");
                expect("ADD", missing, 1, "\"code\":11");
                expect("STATUS", missing, 1, "\"code\":50");
                expect("BOGUS", netconf, 1, "\"code\":4");
                expect(null, netconf, 1, "\"code\":4");
                expect("VERSION", "not json", 0, "\"cniVersion\":\"1.1.0\"");
                expect("ADD", "not json", 1, "\"code\":6");
            }
        } finally {
            server.close();
            Files.deleteIfExists(socket);
            Files.deleteIfExists(dir);
        }
    }

    private static void expect(String command, String netconf, int exitCode, String contains) {
        Map<String, String> env = new HashMap<>();
        if (command != null) {
            env.put("CNI_COMMAND", command);
        }
        env.put("CNI_CONTAINERID", "train-0123456789");
        env.put("CNI_NETNS", "/var/run/netns/train");
        env.put("CNI_IFNAME", "eth0");
        env.put("CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p");
        env.put("CNI_PATH", "/opt/cni/bin");
        env.put("PATH", "/usr/bin");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        InputStream in = new ByteArrayInputStream(netconf.getBytes(StandardCharsets.UTF_8));
        int code = PluginMain.run(new PluginMain.Invocation(
                CniEnvironment.of(env),
                in,
                out,
                new PrintStream(err, true, StandardCharsets.UTF_8),
                "infoblox",
                ForwardingConf.DEFAULT_SOCKET_DIR));
        String stdout = out.toString(StandardCharsets.UTF_8);
        if (code != exitCode || !stdout.contains(contains)) {
            throw new IllegalStateException("training run of " + command + " gave exit " + code + " and stdout "
                    + stdout + " (stderr " + err.toString(StandardCharsets.UTF_8) + "), expected exit " + exitCode
                    + " and " + contains);
        }
    }

    /** Answers every request like a healthy daemon would, from the request's CNI_COMMAND. */
    private static final class FakeDaemon implements Runnable {
        private final ServerSocketChannel server;

        FakeDaemon(ServerSocketChannel server) {
            this.server = server;
        }

        @Override
        public void run() {
            while (server.isOpen()) {
                try (SocketChannel ch = server.accept()) {
                    InputStream in = Channels.newInputStream(ch);
                    OutputStream out = Channels.newOutputStream(ch);
                    Envelope.Request request = Envelope.Request.read(in);
                    String command = request.env().get("CNI_COMMAND");
                    String answer = "ADD".equals(command) ? ADD_RESULT : "";
                    Envelope.Response.of(0, answer).write(out);
                } catch (IOException e) {
                    if (server.isOpen()) {
                        e.printStackTrace();
                    }
                }
            }
        }
    }
}
