package infobloxcni.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import infobloxcni.daemon.config.DaemonConfig;
import infobloxcni.daemon.grid.ReservationTags;
import infobloxcni.daemon.observe.LogLevels;
import infobloxcni.daemon.server.EnvelopeHandler;
import infobloxcni.wire.Envelope;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import picocli.CommandLine;

/**
 * The training run for the daemon's start-up archive: {@code bin/infoblox-cni-daemon --train}
 * runs it under {@code -XX:AOTCacheOutput} with the daemon's own JVM flags and class path, and the
 * archive then holds the classes, linkage and profiles of a real start: picocli's parse of the
 * daemon's command line, the journal, the WAPI client (TLS set-up included), the socket, and
 * ADD, repeated ADD, CHECK, DEL, GC and status requests answered through the envelope, with the
 * grid calls they make.
 *
 * <p>Why a stand-in grid of its own: the training runs on the host (the package's postinst), with
 * no grid and no simulator there (the simulator is a test tool, not shipped), and it must not
 * touch the host's journal, socket or grid. So it binds everything under a fresh private
 * directory and answers the daemon's WAPI calls from {@link StandInGrid}, a loopback HTTP server
 * of the JDK that gives each call an answer of the shape a grid gives (it keeps no state beyond a
 * counter: the answers need to be well-formed, not right). It prints nothing on stdout; a request
 * the daemon does not answer as a healthy daemon would fails the training, so that a broken build
 * does not leave a silently useless archive.
 */
public final class DaemonTrain {
    private static final String NETWORK = "10.250.0.0/24";
    private static final String VIEW = "train_view";

    private DaemonTrain() {}

    public static void main(String[] args) throws Exception {
        Path dir = Files.createTempDirectory(
                "infoblox-cni-daemon-train",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        try (StandInGrid grid = StandInGrid.start()) {
            // the daemon's own command line, parsed as DaemonMain parses it
            DaemonMain main = new DaemonMain();
            new CommandLine(main)
                    .parseArgs(
                            "--grid-host",
                            "127.0.0.1",
                            "--wapi-port",
                            Integer.toString(grid.port()),
                            "--wapi-scheme",
                            "http",
                            "--wapi-username",
                            "train",
                            "--socket-dir",
                            dir.resolve("run").toString(),
                            "--state-dir",
                            dir.resolve("state").toString(),
                            "--cni-cache-dir",
                            dir.resolve("cni-cache").toString(),
                            "--network-view",
                            VIEW,
                            "--host-id",
                            "train-host",
                            "--pool-size",
                            "1",
                            "--log-level",
                            "SEVERE");
            LogLevels.configure(LogLevels.parse(main.logLevel));
            DaemonConfig config = main.host.toConfig("train");
            main.host.warnings(config);
            try (Daemon daemon = Daemon.start(config)) {
                daemon.awaitStartupChecks(java.time.Duration.ofSeconds(30));
                Path socket = daemon.socketPath();
                String netconf =
                        "{\"cniVersion\":\"1.0.0\",\"name\":\"train\",\"type\":\"bridge\",\"ipam\":{\"type\":\"infoblox\","
                                + "\"subnet\":\"" + NETWORK + "\",\"network-view\":\"" + VIEW
                                + "\",\"routes\":[{\"dst\":\"0.0.0.0/0\"}]}}";
                for (int i = 0; i < 3; i++) {
                    String id = "train" + i + "0123456789abcdef";
                    String result = expect(socket, cni("ADD", id), netconf, "\"ips\"");
                    expect(socket, cni("ADD", id), netconf, "\"ips\"");
                    String check =
                            netconf.substring(0, netconf.length() - 1) + ",\"prevResult\":" + result.strip() + "}";
                    // a CHECK right after an ADD from the pool may find the address's tag still on its way to the grid
                    answer(socket, cni("CHECK", id), check);
                    expect(socket, cni("DEL", id), netconf, null);
                    expect(socket, cni("DEL", id), netconf, null);
                }
                String gc = netconf.replace("\"1.0.0\"", "\"1.1.0\"")
                        .replace("\"ipam\":", "\"cni.dev/valid-attachments\":[],\"ipam\":");
                expect(socket, cni("GC", null), gc, null);
                expect(socket, cni("STATUS", null), netconf.replace("\"1.0.0\"", "\"1.1.0\""), null);
                expect(socket, Map.of(EnvelopeHandler.ADMIN_ENV, "status"), "", "\"journal\"");
            }
        } finally {
            try (Stream<Path> walk = Files.walk(dir)) {
                walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static Map<String, String> cni(String command, String containerId) {
        Map<String, String> env = new TreeMap<>();
        env.put("CNI_COMMAND", command);
        if (containerId != null) {
            env.put("CNI_CONTAINERID", containerId);
            env.put("CNI_NETNS", "/var/run/netns/infoblox-cni-train-none"); // names no namespace: no MAC read
            env.put("CNI_IFNAME", "eth0");
        }
        env.put("CNI_PATH", "/opt/cni/bin");
        return env;
    }

    /** One request over the socket; the daemon must answer exit 0 and, when given, say {@code contains}. Answers its stdout. */
    private static String expect(Path socket, Map<String, String> env, String stdin, String contains)
            throws IOException {
        Envelope.Response r = answer(socket, env, stdin);
        String out = new String(r.stdout(), StandardCharsets.UTF_8);
        if (r.exitCode() != 0 || (contains != null && !out.contains(contains))) {
            throw new IllegalStateException("training request " + env + " answered exit " + r.exitCode() + ": " + out);
        }
        return out;
    }

    private static Envelope.Response answer(Path socket, Map<String, String> env, String stdin) throws IOException {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            new Envelope.Request(env, stdin.getBytes(StandardCharsets.UTF_8)).write(Channels.newOutputStream(ch));
            ch.shutdownOutput();
            return Envelope.Response.read(Channels.newInputStream(ch));
        }
    }

    /**
     * Answers WAPI calls on loopback with objects of the grid's shapes: the training view and
     * network exist, every extensible attribute the daemon needs is defined, a created fixed
     * address is the body it was sent with a ref and the next address, searches find the fixed
     * addresses whose fields and EAs match, and a multiple-request (the daemon's conditional
     * update or delete) applies its write to the address its first step names.
     */
    private static final class StandInGrid implements AutoCloseable {
        private final ObjectMapper json = new ObjectMapper();
        private final HttpServer server;
        private final AtomicInteger next = new AtomicInteger(10);
        /** The fixed addresses held, by address. */
        private final Map<String, ObjectNode> fixed = new java.util.concurrent.ConcurrentHashMap<>();

        private StandInGrid(HttpServer server) {
            this.server = server;
        }

        static StandInGrid start() throws IOException {
            HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
            StandInGrid grid = new StandInGrid(server);
            server.createContext("/", grid::answer);
            server.start();
            return grid;
        }

        int port() {
            return server.getAddress().getPort();
        }

        private void answer(HttpExchange exchange) throws IOException {
            try (exchange) {
                String[] path = exchange.getRequestURI().getPath().split("/"); // "", "wapi", "v2.5", type[, ref...]
                String type = path.length > 3 ? path[3] : "";
                byte[] request;
                try (InputStream in = exchange.getRequestBody()) {
                    request = in.readAllBytes();
                }
                JsonNode body = request.length == 0 ? null : json.readTree(request);
                String method = exchange.getRequestMethod();
                JsonNode reply = switch (method + " " + type) {
                    case "GET networkview" -> json.createArrayNode().add(view());
                    case "GET network" -> json.createArrayNode().add(network());
                    case "GET extensibleattributedef" -> eaDefinitions();
                    case "GET fixedaddress" -> search(exchange.getRequestURI().getRawQuery());
                    case "POST fixedaddress" -> fixedAddress(body);
                    case "POST request" -> multiRequest(body);
                    case "POST networkview" -> view();
                    case "POST network" -> network();
                    case "POST logout" -> json.createObjectNode();
                    default ->
                        method.equals("GET")
                                ? json.createArrayNode()
                                : json.getNodeFactory().textNode(type + "/ZG5z:train");
                };
                byte[] out = json.writeValueAsBytes(reply);
                exchange.getResponseHeaders().set("Content-Type", "application/json");
                exchange.sendResponseHeaders(
                        method.equals("POST") && !type.equals("request") && !type.equals("logout") ? 201 : 200,
                        out.length);
                try (OutputStream o = exchange.getResponseBody()) {
                    o.write(out);
                }
            }
        }

        private ObjectNode view() {
            return json.createObjectNode()
                    .put("_ref", "networkview/ZG5z:" + VIEW + "/false")
                    .put("name", VIEW)
                    .set("extattrs", json.createObjectNode());
        }

        private ObjectNode network() {
            ObjectNode n = json.createObjectNode()
                    .put("_ref", "network/ZG5z:" + NETWORK + "/" + VIEW)
                    .put("network", NETWORK)
                    .put("network_view", VIEW);
            n.set("extattrs", json.createObjectNode());
            return n;
        }

        private ArrayNode eaDefinitions() {
            ArrayNode defs = json.createArrayNode();
            for (String name : ReservationTags.REQUIRED_EAS) {
                defs.addObject()
                        .put("_ref", "extensibleattributedef/ZG5z:" + name)
                        .put("name", name);
            }
            return defs;
        }

        /** The body sent, with a ref, and the next address where the grid would choose one. */
        private ObjectNode fixedAddress(JsonNode sent) {
            ObjectNode f = sent != null && sent.isObject() ? ((ObjectNode) sent).deepCopy() : json.createObjectNode();
            String ip = f.path("ipv4addr").asText("");
            if (ip.isEmpty() || ip.startsWith("func:")) {
                ip = "10.250.0." + (2 + Math.floorMod(next.getAndIncrement(), 250));
                f.put("ipv4addr", ip);
            }
            f.put("_ref", "fixedaddress/ZG5z:" + ip + "/" + VIEW)
                    .put("network", NETWORK)
                    .put("network_view", VIEW);
            if (!f.has("extattrs")) f.set("extattrs", json.createObjectNode());
            fixed.put(ip, f);
            return f;
        }

        /** The fixed addresses matching every search field ({@code *EA=value}, {@code field=value}; regex searches are not narrowed). */
        private ArrayNode search(String rawQuery) {
            ArrayNode out = json.createArrayNode();
            for (ObjectNode f : fixed.values()) {
                boolean match = true;
                for (String pair : rawQuery == null ? new String[0] : rawQuery.split("&")) {
                    int eq = pair.indexOf('=');
                    String k =
                            java.net.URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
                    String v = eq < 0 ? "" : java.net.URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
                    if (k.startsWith("_") || k.endsWith("~")) continue;
                    String have = k.startsWith("*")
                            ? f.path("extattrs")
                                    .path(k.substring(1))
                                    .path("value")
                                    .asText(null)
                            : f.path(k).asText(null);
                    match &= v.equals(have);
                }
                if (match) out.add(f);
            }
            return out;
        }

        /** A multiple-request: its first step names the address, its last writes it (PUT) or deletes it. */
        private ArrayNode multiRequest(JsonNode steps) {
            List<JsonNode> list = new ArrayList<>();
            if (steps != null) steps.forEach(list::add);
            ArrayNode out = json.createArrayNode();
            if (list.size() < 2) return out;
            String ip = list.getFirst().path("data").path("ipv4addr").asText("");
            ObjectNode held = fixed.get(ip);
            JsonNode write = list.getLast();
            if (held == null) {
                out.add(json.createObjectNode()); // nothing matched: the grid's substitution finds no object
            } else if ("DELETE".equals(write.path("method").asText())) {
                fixed.remove(ip);
                out.add(held.path("_ref").asText());
            } else {
                if (write.path("data").isObject()) held.setAll((ObjectNode) write.get("data"));
                out.add(held);
            }
            return out;
        }

        @Override
        public void close() {
            server.stop(0);
        }
    }
}
