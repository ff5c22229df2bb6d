package infobloxcni.daemon;

import static infobloxcni.daemon.TestHost.netconf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import infobloxcni.daemon.cni.NetConf;
import infobloxcni.wapisim.WapiSimulator;
import infobloxcni.wire.CniError;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What an operator sees of a running daemon: one log line per CNI operation, the status command
 * (table and JSON) over the daemon's socket, and the Prometheus metrics, scraped over HTTP.
 */
class ObservabilityTest {
    private static final String NET = netconf("1.0.0", "net1", "\"subnet\":\"10.62.0.0/24\"");

    @TempDir
    Path dir;

    private WapiSimulator grid;
    private TestHost host;
    private final List<String> lines = new CopyOnWriteArrayList<>();
    private final Logger requestLog = Logger.getLogger(RequestHandler.class.getName());
    private final Handler capture = new Handler() {
        @Override
        public void publish(LogRecord r) {
            lines.add(r.getMessage());
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
    };

    @BeforeEach
    void start() throws Exception {
        grid = TestHost.startGrid();
        host = new TestHost(grid, dir, "host-a");
        host.start(host.config(), new InetSocketAddress("127.0.0.1", 0));
        requestLog.addHandler(capture);
    }

    @AfterEach
    void stop() {
        requestLog.removeHandler(capture);
        grid.faults().reset();
        host.close();
        grid.close();
    }

    private String lineFor(String prefix) {
        return lines.stream()
                .filter(l -> l.startsWith(prefix))
                .reduce((a, b) -> b)
                .orElseThrow(() -> new AssertionError("no log line starting '" + prefix + "' in " + lines));
    }

    @Test
    void oneLogLinePerOperationWithAddressDurationWapiCallsAndOutcome() {
        assertTrue(host.call("ADD", "warm", "eth0", NET).ok()); // creates view, network and gateway
        String address = host.call("ADD", "c1", "eth0", NET).address();
        assertTrue(
                lineFor("ADD net1 c1/eth0")
                        .matches("ADD net1 c1/eth0 " + Pattern.quote(address) + " ok in \\d+ ms, 1 WAPI call"),
                lineFor("ADD net1 c1/eth0"));
        assertTrue(host.call("DEL", "c1", "eth0", NET).ok());
        assertTrue(
                lineFor("DEL net1 c1/eth0")
                        .matches("DEL net1 c1/eth0 " + Pattern.quote(address) + " ok in \\d+ ms, 0 WAPI calls"),
                "a DEL answers before the grid hears of it: " + lineFor("DEL net1 c1/eth0"));
        var refused = host.call(
                "ADD", "c2", "eth0", NET.replace("\"subnet\":\"10.62.0.0/24\"", "\"subnet\":\"10.62.0.0/33\""));
        assertEquals(CniError.INVALID_NETCONF, refused.code());
        // refused while parsing: the line still names the network the config gives (it used to say "-")
        assertTrue(
                lineFor("ADD net1 c2/eth0")
                        .matches(
                                "ADD net1 c2/eth0 - failed with code 7 in \\d+ ms, 0 WAPI calls: field 'ipam.subnet'.*"),
                lineFor("ADD net1 c2/eth0"));
    }

    record Run(int exit, String out, String err) {}

    private Run status(String... extra) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        String[] args = new String[extra.length + 3];
        args[0] = "status";
        args[1] = "--socket-dir";
        args[2] = host.config().socketDir().toString();
        System.arraycopy(extra, 0, args, 3, extra.length);
        int exit = DaemonMain.run(
                args,
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void theStatusCommandShowsGridJournalPendingReleasesWithTheirNextTryAndPools() throws Exception {
        assertTrue(host.call("ADD", "c1", "eth0", NET).ok());
        Run table = status();
        assertEquals(0, table.exit(), table.toString());
        assertTrue(table.out().contains("grid      UP since"), table.out());
        assertTrue(table.out().contains("journal   ALLOCATED 1"), table.out());
        assertTrue(table.out().contains("pending   0"), table.out());
        assertTrue(table.out().matches("(?s).*memory    \\d+\\.\\d MiB resident.*"), table.out());
        // what it talks to and how it is set up, and what it answered
        assertTrue(
                table.out().contains("wapi      http://127.0.0.1:" + grid.port() + "/wapi/v2.5/ (WAPI 2.5)"),
                table.out());
        assertTrue(
                table.out()
                        .contains("settings  no settings file; metrics on 127.0.0.1:"
                                + host.daemon().metricsAddress().getPort()),
                table.out());
        assertTrue(host.call("ADD", "c9", "eth0", NET.replace("10.62.0.0/24", "10.62.0.0/33"))
                        .code()
                == 7);
        table = status();
        assertTrue(table.out().contains("answered  ADD 1 ok 1 failed"), table.out());

        grid.faults().outage(true);
        assertTrue(host.call("DEL", "c1", "eth0", NET).ok());
        host.awaitSettled(); // the release met the outage and waits its backoff
        JsonNode s = NetConf.JSON.readTree(status("--json").out());
        assertEquals(Version.OF_DAEMON, s.path("version").asText());
        assertEquals(1, s.path("operations").path("DEL").path("ok").asInt(), s.toPrettyString());
        assertEquals(1, s.path("operations").path("ADD").path("errors").asInt(), s.toPrettyString());
        assertEquals("127.0.0.1", s.path("grid").path("host").asText());
        assertEquals("2.5", s.path("grid").path("wapiVersion").asText());
        assertTrue(s.path("settingsFile").isNull(), s.toPrettyString());
        // the daemon's RSS, as the kernel counts it (this test's JVM: more than a few MiB)
        assertTrue(s.path("rssBytes").asLong() > 8 << 20, s.toPrettyString());
        assertTrue(s.path("journalMerged").asBoolean(), "the ADD waited for the start-up merge: " + s);
        assertTrue(s.path("uptimeSeconds").asLong() >= 0);
        assertEquals(1, s.path("pending").size(), s.toPrettyString());
        JsonNode pending = s.path("pending").get(0);
        assertEquals("DEL_PENDING", pending.path("state").asText());
        assertEquals("c1", pending.path("containerId").asText());
        assertTrue(pending.path("attempts").asInt() >= 1, pending.toString());
        assertTrue(pending.hasNonNull("lastError"), pending.toString());
        assertTrue(!pending.path("nextTry").asText().equals("now"), "a failed release waits its backoff: " + pending);
        assertTrue(
                s.path("grid").hasNonNull("lastError")
                        || s.path("grid").path("state").asText().equals("UP"),
                s.toPrettyString());
        grid.faults().outage(false);
    }

    /**
     * Pools in status: a refill the grid refuses said nothing (the network's pool just stayed short),
     * a target nobody had asked for since the start read "of 0", and a pool spanning two subnets
     * (its netconf changed) showed one number. Now each network's line says the grid's refusal, an
     * unknown target says so, and the free addresses are counted by view and subnet.
     */
    @Test
    void poolsShowTheirSubnetsARefusedRefillAndAnUnknownTarget() throws Exception {
        // a /29 holds .2 to .6 (.1 the gateway): one container and four pool entries, short of 8
        String small = netconf("1.0.0", "tiny", "\"subnet\":\"10.63.0.0/29\",\"pool-size\":8");
        assertTrue(host.call("ADD", "c1", "eth0", small).ok());
        Eventually.await(
                "the grid refuses the fifth refill",
                () -> host.status().path("pools").path("tiny").hasNonNull("refused"));
        JsonNode pool =
                NetConf.JSON.readTree(status("--json").out()).path("pools").path("tiny");
        assertEquals(4, pool.path("free").asInt(), pool.toPrettyString());
        assertEquals(8, pool.path("target").asInt(), pool.toPrettyString());
        assertTrue(pool.path("refused").asText().contains("available IP"), pool.toPrettyString());
        JsonNode where = pool.path("byViewAndSubnet");
        assertEquals(1, where.size(), pool.toPrettyString());
        assertEquals("default", where.get(0).path("view").asText());
        assertEquals("10.63.0.0/29", where.get(0).path("subnet").asText());
        assertEquals(4, where.get(0).path("free").asInt());
        String table = status().out();
        assertTrue(table.contains("pool      tiny: 4 free of 8; refills refused by the grid: "), table);
        assertTrue(table.contains("view default, 10.63.0.0/29: 4 free"), table);

        host.stop();
        host.start(host.config(), new InetSocketAddress("127.0.0.1", 0));
        Eventually.await(
                "the start-up merge", () -> host.status().path("journalMerged").asBoolean());
        table = status().out();
        assertTrue(table.contains("pool      tiny: 4 free (target unknown until a request names the network)"), table);
    }

    /**
     * A wrong password: status said "grid UP" and exited 0, the metric said UP, while every ADD
     * failed 103. Now it is CREDENTIALS_REFUSED in status (exit 1, with the error's time), in
     * the metric and in systemd's Status: line.
     */
    @Test
    void refusedCredentialsShowInStatusTheMetricAndTheSystemdLine() throws Exception {
        host.stop();
        var right = host.config().wapi();
        var wrong = infobloxcni.wapi.WapiConfig.of(
                        "127.0.0.1", grid.port(), "2.5", TestHost.USER, "not-the-password", right.sslVerify())
                .withHttps(false)
                .withTimeouts(right.connectTimeout(), right.readTimeout(), right.callTimeout());
        host.start(host.config().toBuilder().wapi(wrong).build(), new InetSocketAddress("127.0.0.1", 0));
        var add = host.call("ADD", "c1", "eth0", NET);
        assertEquals(CniError.GRID_AUTH_FAILED, add.code(), add.toString());

        Run table = status();
        assertEquals(1, table.exit(), "the grid refuses us: " + table);
        assertTrue(table.out().contains("grid      CREDENTIALS_REFUSED since"), table.out());
        assertTrue(table.out().matches("(?s).*last error: .*refused the credentials.* \\(at 20\\d\\d-.*"), table.out());
        JsonNode s = NetConf.JSON.readTree(status("--json").out());
        assertTrue(s.path("grid").path("refusing").asBoolean(), s.toPrettyString());

        InetSocketAddress at = host.daemon().metricsAddress();
        String m = HttpClient.newHttpClient()
                .send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + at.getPort() + "/metrics"))
                                .build(),
                        HttpResponse.BodyHandlers.ofString())
                .body();
        assertEquals(1, sample(m, "infoblox_cni_grid_state", "state=\"CREDENTIALS_REFUSED\""));
        assertEquals(0, sample(m, "infoblox_cni_grid_state", "state=\"UP\""));
        String line = host.daemon().statusLine();
        assertTrue(line.startsWith("grid CREDENTIALS_REFUSED (") && line.contains("refused the credentials"), line);
    }

    @Test
    void theStatusCommandSaysSoWhenNoDaemonAnswers() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = DaemonMain.run(
                new String[] {"status", "--socket-dir", dir.resolve("nowhere").toString()},
                new PrintStream(new ByteArrayOutputStream()),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(3, exit);
        assertTrue(err.toString(StandardCharsets.UTF_8)
                .contains("no daemon answers on " + dir.resolve("nowhere").resolve("infoblox.sock")));
    }

    /** {@code status --json} with no daemon used to print nothing on stdout: a script gets JSON either way. */
    @Test
    void theJsonStatusIsJsonWhenNoDaemonAnswersToo() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int exit = DaemonMain.run(
                new String[] {
                    "status", "--json", "--socket-dir", dir.resolve("nowhere").toString()
                },
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(new ByteArrayOutputStream()));
        assertEquals(3, exit);
        JsonNode doc = NetConf.JSON.readTree(out.toString(StandardCharsets.UTF_8));
        assertEquals(false, doc.path("answering").asBoolean(true));
        assertTrue(doc.path("error").asText().contains("no daemon answers"), doc.toString());
    }

    private static double sample(String exposition, String metric, String... labels) {
        for (String line : exposition.lines().toList()) {
            if (!line.startsWith(metric + "{") && !line.startsWith(metric + " ")) continue;
            boolean all = true;
            for (String l : labels) all &= line.contains(l);
            if (all) return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
        }
        throw new AssertionError("no sample of " + metric + " with " + List.of(labels) + " in\n" + exposition);
    }

    @Test
    void prometheusMetricsAreServedOnTheLoopbackAddressAndCountWhatHappened() throws Exception {
        assertTrue(host.call("ADD", "c1", "eth0", NET).ok());
        assertTrue(host.call("DEL", "c1", "eth0", NET).ok());
        host.awaitSettled();
        assertEquals(
                CniError.INVALID_NETCONF,
                host.call("ADD", "c2", "eth0", "{\"cniVersion\":\"1.0.0\"}").code());
        InetSocketAddress at = host.daemon().metricsAddress();
        assertTrue(at.getAddress().isLoopbackAddress() && at.getPort() > 0, at.toString());
        HttpResponse<String> scrape = HttpClient.newHttpClient()
                .send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + at.getPort() + "/metrics"))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        assertEquals(200, scrape.statusCode());
        String m = scrape.body();
        assertEquals(1, sample(m, "infoblox_cni_operation_duration_seconds_count", "verb=\"ADD\"", "outcome=\"ok\""));
        assertEquals(1, sample(m, "infoblox_cni_operation_duration_seconds_count", "verb=\"DEL\"", "outcome=\"ok\""));
        assertEquals(1, sample(m, "infoblox_cni_operation_duration_seconds_count", "verb=\"ADD\"", "outcome=\"7\""));
        assertTrue(sample(
                        m,
                        "infoblox_cni_wapi_calls_total",
                        "method=\"POST\"",
                        "object=\"fixedaddress\"",
                        "outcome=\"ANSWERED\"")
                >= 1);
        assertEquals(1, sample(m, "infoblox_cni_grid_state", "state=\"UP\""));
        assertEquals(0, sample(m, "infoblox_cni_pending_releases"));
        assertEquals(0, sample(m, "infoblox_cni_journal_records", "state=\"ALLOCATED\""));
        assertTrue(m.contains("infoblox_cni_wapi_call_duration_seconds_bucket"), "WAPI latency histogram");
        // what runs, and the JVM's and the process's own figures (the client's collectors)
        assertEquals(1, sample(m, "infoblox_cni_build_info", "version=\"" + Version.OF_DAEMON + "\"", "java_version="));
        assertTrue(sample(m, "process_resident_memory_bytes") > 1 << 20, "RSS");
        assertTrue(sample(m, "jvm_memory_used_bytes", "area=\"heap\"") > 0, "heap");
        assertTrue(sample(m, "jvm_threads_current") > 1, "threads");
        assertTrue(sample(m, "process_open_fds") > 0, "open files");
    }

    /** /healthz answers 200 while the request path answers (as the watchdog checks); any other path is 404. */
    @Test
    void healthzIsTheRequestPathAndNothingElseIsALandingPage() throws Exception {
        InetSocketAddress at = host.daemon().metricsAddress();
        HttpClient http = HttpClient.newHttpClient();
        java.util.function.Function<String, HttpResponse<String>> get = path -> {
            try {
                return http.send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + at.getPort() + path))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        };
        HttpResponse<String> health = get.apply("/healthz");
        assertEquals(200, health.statusCode(), health.body());
        assertEquals("ok\n", health.body());
        assertEquals(404, get.apply("/").statusCode());
        assertEquals(404, get.apply("/status").statusCode());
    }
}
