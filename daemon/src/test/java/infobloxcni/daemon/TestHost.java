package infobloxcni.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import infobloxcni.daemon.audit.JournalAudit;
import infobloxcni.daemon.cni.NetConf;
import infobloxcni.daemon.config.DaemonConfig;
import infobloxcni.daemon.config.SharedFlags;
import infobloxcni.daemon.server.EnvelopeHandler;
import infobloxcni.wapi.SslVerify;
import infobloxcni.wapi.WapiConfig;
import infobloxcni.wapisim.WapiSimulator;
import infobloxcni.wire.Envelope;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One container host for tests: a real daemon in this JVM, on its own socket and journal,
 * talking HTTP to a {@link WapiSimulator}. Requests go over the real Unix socket in the real
 * envelope, exactly as the plugin sends them.
 */
public final class TestHost implements AutoCloseable {
    public static final String USER = "admin";
    public static final String PASSWORD = "infoblox";

    public final Path dir;
    public final String hostId;
    private final WapiSimulator grid;
    private Daemon daemon;
    private int poolSize;
    private DaemonConfig.VerbBounds bounds;
    private java.time.Clock clock = java.time.Clock.systemUTC();

    public TestHost(WapiSimulator grid, Path dir, String hostId) {
        this.grid = grid;
        this.dir = dir;
        this.hostId = hostId;
    }

    public static WapiSimulator startGrid() {
        return WapiSimulator.builder()
                .port(0)
                .credentials(USER, PASSWORD)
                .https(false)
                .build()
                .start();
    }

    public DaemonConfig config() {
        return config(Duration.ofSeconds(2));
    }

    public DaemonConfig config(Duration callTimeout) {
        WapiConfig wapi = new WapiConfig(
                "127.0.0.1",
                grid.port(),
                "2.5",
                USER,
                PASSWORD,
                new SslVerify.System(),
                false,
                Duration.ofSeconds(1),
                callTimeout,
                callTimeout,
                0,
                0);
        return DaemonConfig.builder()
                .wapi(wapi)
                .socketDir(dir.resolve("run"))
                .stateDir(dir.resolve("state"))
                .cniCacheDir(dir.resolve("cni-cache"))
                .hostId(hostId)
                .releaseRetryMax(Duration.ofSeconds(2))
                .bounds(bounds)
                .poolSize(poolSize)
                .build();
    }

    /**
     * The configuration an operator's flags make (parsed by {@link SharedFlags}, as the daemon
     * parses them): this host's grid flags with the given directories, then {@code extra}.
     */
    public DaemonConfig configFromFlags(Path socketDir, Path stateDir, String... extra) throws IOException {
        List<String> args = new java.util.ArrayList<>(gridFlags(grid, socketDir, stateDir, hostId));
        args.addAll(List.of("--cni-cache-dir", dir.resolve("cni-cache").toString(), "--pool-size", "0"));
        args.addAll(List.of(extra));
        SharedFlags flags = new SharedFlags();
        new picocli.CommandLine(flags).parseArgs(args.toArray(String[]::new));
        return flags.toConfig(PASSWORD);
    }

    /** The daemon's --pool-size (0 unless set: most tests count the grid's reservations exactly). */
    public TestHost poolSize(int size) {
        this.poolSize = size;
        return this;
    }

    /** The daemon's clock (the system's unless set: a test that must see time pass moves its own on). */
    public TestHost clock(java.time.Clock daemonClock) {
        this.clock = daemonClock;
        return this;
    }

    /** How long each verb may wait on the grid (the daemon's defaults unless set). */
    public TestHost bounds(DaemonConfig.VerbBounds verbBounds) {
        this.bounds = verbBounds;
        return this;
    }

    /** What the daemon's admin "status" answers: grid health, journal counts, pool levels. */
    public JsonNode status() {
        return send(Map.of(EnvelopeHandler.ADMIN_ENV, "status"), "").json();
    }

    /** The recover command's audit, asked over the daemon's socket as the command asks it. */
    public JournalAudit.Report audit(List<JournalAudit.LiveAttachment> live, boolean apply) {
        return audit(live, apply, null);
    }

    /** The audit, also releasing the pool of {@code forgetHost} (a host that is gone) with apply. */
    public JournalAudit.Report audit(List<JournalAudit.LiveAttachment> live, boolean apply, String forgetHost) {
        return audit(live, apply, forgetHost, Duration.ofMinutes(2));
    }

    /** As {@link #audit(List, boolean, String)}, failing when the daemon has not answered within {@code limit}. */
    public JournalAudit.Report audit(
            List<JournalAudit.LiveAttachment> live, boolean apply, String forgetHost, Duration limit) {
        var args = NetConf.JSON
                .createObjectNode()
                .put("apply", apply)
                .put("liveSource", "test")
                .put("forgetHost", forgetHost);
        if (live != null) args.set("live", JournalAudit.liveToJson(live));
        Answer answer = admin("audit", args.toString(), limit);
        if (answer == null) throw new AssertionError("the audit did not answer within " + limit);
        if (answer.exitCode() != 0) throw new AssertionError("audit failed: " + answer);
        return JournalAudit.fromJson(answer.json());
    }

    /**
     * An admin request ({@code status}, {@code journal}, {@code audit}) as the recover command and
     * {@code infoblox-cni-daemon status} send it; null when no answer came within {@code limit}.
     */
    public Answer admin(String command, String stdin, Duration limit) {
        return send(Map.of(EnvelopeHandler.ADMIN_ENV, command), stdin, limit);
    }

    public TestHost start() throws IOException {
        return start(config());
    }

    /** Starts the daemon and waits for its start-up look at the grid, so that what a test counts on the grid is its own. */
    public TestHost start(DaemonConfig config) throws IOException {
        return start(config, null);
    }

    /** As {@link #start(DaemonConfig)}, with Prometheus metrics served at {@code metrics} (port 0: a free one). */
    public TestHost start(DaemonConfig config, java.net.InetSocketAddress metrics) throws IOException {
        daemon = Daemon.start(config, metrics, clock);
        try {
            daemon.awaitStartupChecks(Duration.ofSeconds(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return this;
    }

    public Daemon daemon() {
        return daemon;
    }

    /**
     * After a simulated outage ends: waits until this daemon's probe has seen the grid back (it
     * refuses calls at once while it believes the grid down, and probes every second).
     */
    public void awaitGridUp() {
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (daemon.gridHealth().failingFast()) {
            if (System.nanoTime() > deadline)
                throw new AssertionError("the daemon still believes the grid down after 15 s");
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }

    /**
     * Waits until the grid half of every verb answered so far has run (a DEL answers once its
     * intent is on disk; its release follows behind the answer). Whether it succeeded is for the
     * test to look at.
     */
    public void awaitSettled() {
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (daemon.settlingBehind() > 0) {
            if (System.nanoTime() > deadline)
                throw new AssertionError("settlements behind answers still running after 15 s");
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }

    public Path socket() {
        return dir.resolve("run").resolve("infoblox.sock");
    }

    public Path journalDir() {
        return dir.resolve("state").resolve("journal");
    }

    /** Stops the daemon, keeping its journal; {@link #start()} brings it back. */
    public void stop() {
        if (daemon != null) daemon.close();
        daemon = null;
    }

    @Override
    public void close() {
        stop();
    }

    /** A CNI call as the plugin would forward it. */
    public Answer call(String command, String containerId, String ifName, String netconf) {
        return send(env(command, containerId, ifName), netconf);
    }

    /** The CNI_* variables a runtime sets for a call, in a map the caller may add to (CNI_ARGS, say). */
    public static Map<String, String> env(String command, String containerId, String ifName) {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("CNI_COMMAND", command);
        if (containerId != null) env.put("CNI_CONTAINERID", containerId);
        if (ifName != null) env.put("CNI_IFNAME", ifName);
        env.put("CNI_NETNS", "/var/run/netns/does-not-exist");
        env.put("CNI_PATH", "/opt/cni/bin");
        return env;
    }

    public Answer send(Map<String, String> env, String stdin) {
        try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            channel.connect(UnixDomainSocketAddress.of(socket()));
            new Envelope.Request(env, stdin.getBytes(StandardCharsets.UTF_8)).write(Channels.newOutputStream(channel));
            Envelope.Response response = Envelope.Response.read(Channels.newInputStream(channel));
            return new Answer(response.exitCode(), new String(response.stdout(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * As {@link #send(Map, String)}, but gives up after {@code timeout} (closing the connection)
     * and answers null then: for tests of requests that used to hang.
     */
    public Answer send(Map<String, String> env, String stdin, Duration timeout) {
        try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            java.util.concurrent.atomic.AtomicBoolean gaveUp = new java.util.concurrent.atomic.AtomicBoolean();
            java.io.Closeable closer = channel; // closed from the watchdog's thread: that makes the blocked read fail
            Thread watchdog = Thread.ofVirtual().start(() -> {
                try {
                    Thread.sleep(timeout);
                    gaveUp.set(true);
                    closer.close();
                } catch (InterruptedException | IOException done) {
                    // answered in time
                }
            });
            try {
                channel.connect(UnixDomainSocketAddress.of(socket()));
                new Envelope.Request(env, stdin.getBytes(StandardCharsets.UTF_8))
                        .write(Channels.newOutputStream(channel));
                Envelope.Response response = Envelope.Response.read(Channels.newInputStream(channel));
                return new Answer(response.exitCode(), new String(response.stdout(), StandardCharsets.UTF_8));
            } catch (IOException e) {
                if (gaveUp.get()) return null;
                throw e;
            } finally {
                watchdog.interrupt();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The plugin's exit code and stdout. */
    public record Answer(int exitCode, String stdout) {
        public JsonNode json() {
            try {
                return NetConf.JSON.readTree(stdout);
            } catch (IOException e) {
                throw new AssertionError("not JSON: " + stdout, e);
            }
        }

        public int code() {
            return json().path("code").asInt();
        }

        public String msg() {
            return json().path("msg").asText();
        }

        /** The one address of an ADD result, whatever the layout. */
        public String address() {
            JsonNode j = json();
            return j.has("ip4")
                    ? j.path("ip4").path("ip").asText()
                    : j.path("ips").path(0).path("address").asText();
        }

        public boolean ok() {
            return exitCode == 0;
        }

        @Override
        public String toString() {
            return "exit " + exitCode + ": " + stdout;
        }
    }

    public static String netconf(String version, String name, String ipamExtra) {
        return "{\"cniVersion\":\"" + version + "\",\"name\":\"" + name
                + "\",\"type\":\"bridge\",\"ipam\":{\"type\":\"infoblox\""
                + (ipamExtra.isEmpty() ? "" : "," + ipamExtra) + "}}";
    }

    /**
     * The EAs the original Go driver wrote on a container's reservation (infoblox-go-client
     * v0.8.0, see ../shared/reference/wapi-facts.md), with the default --cluster-name; it wrote no comment.
     */
    /** The grid's fixed addresses whose {@code VM ID} is this container. */
    /**
     * The flags that point a daemon process at a simulator (over HTTP, as the test user; the
     * password goes in {@code WAPI_PASSWORD}) and give it its own socket and state dirs: what
     * every test that execs a daemon passes, before its own.
     */
    public static List<String> gridFlags(WapiSimulator grid, Path socketDir, Path stateDir, String hostId) {
        return List.of(
                "--grid-host",
                "127.0.0.1",
                "--wapi-port",
                String.valueOf(grid.port()),
                "--wapi-scheme",
                "http",
                "--wapi-username",
                USER,
                "--socket-dir",
                socketDir.toString(),
                "--state-dir",
                stateDir.toString(),
                "--host-id",
                hostId);
    }

    /**
     * A reservation as an earlier run of this driver on {@code hostId} made it for a container on
     * network net1, eth0 (its answer lost, or its record since lost): the object's ref.
     */
    public static String reserveBehindTheDaemonsBack(WapiSimulator grid, String hostId, String containerId, String ip) {
        return fixedAddressOnGrid(
                grid,
                ip,
                "00:00:00:00:00:00",
                "infoblox-cni host=" + hostId + " net=net1 if=eth0",
                Map.of("VM ID", Map.of("value", containerId)));
    }

    /**
     * A free pool entry of {@code network} as the daemon on {@code hostId} reserves it (its comment
     * and EAs, default view and cluster), made on the grid behind the daemon's back: the object's ref.
     */
    public static String poolEntryOnGrid(WapiSimulator grid, String hostId, String network, String ip) {
        return fixedAddressOnGrid(
                grid,
                ip,
                "00:00:00:00:00:00",
                "infoblox-cni host=" + hostId + " net=" + network + " pool",
                Map.of(
                        "Tenant ID",
                        Map.of("value", "cluster-1"),
                        "CMP Type",
                        Map.of("value", "Kubernetes"),
                        "Cloud API Owned",
                        Map.of("value", "True")));
    }

    /** A fixed address in the default view made on the grid behind the daemon's back (comment null: none). */
    public static String fixedAddressOnGrid(
            WapiSimulator grid, String ip, String mac, String comment, Map<String, Object> extattrs) {
        Map<String, Object> fields = new java.util.HashMap<>(
                Map.of("ipv4addr", ip, "network_view", "default", "mac", mac, "extattrs", extattrs));
        if (comment != null) fields.put("comment", comment);
        return grid.createObject("fixedaddress", fields);
    }

    public static List<Map<String, Object>> reservationsOf(WapiSimulator grid, String containerId) {
        return grid.objects("fixedaddress").stream()
                .filter(f -> containerId.equals(ea(f, "VM ID")))
                .toList();
    }

    /** The value of an object's extensible attribute, null when it has none by that name. */
    public static String ea(Map<String, Object> object, String name) {
        if (!(object.get("extattrs") instanceof Map<?, ?> eas) || !(eas.get(name) instanceof Map<?, ?> v)) return null;
        return String.valueOf(v.get("value"));
    }

    public static Map<String, Object> originalDriversEas(String containerId) {
        return Map.of(
                "VM ID",
                Map.of("value", containerId),
                "CMP Type",
                Map.of("value", "Kubernetes"),
                "Tenant ID",
                Map.of("value", "cluster-1"),
                "Cloud API Owned",
                Map.of("value", "True"));
    }

    /** Adds prevResult (for CHECK/DEL) to a netconf. */
    public static String withPrevResult(String netconf, String addResult) {
        return netconf.substring(0, netconf.length() - 1) + ",\"prevResult\":" + addResult + "}";
    }

    public static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (var walk = Files.walk(dir)) {
            walk.sorted(java.util.Comparator.reverseOrder())
                    .forEach(p -> p.toFile().delete());
        }
    }
}
