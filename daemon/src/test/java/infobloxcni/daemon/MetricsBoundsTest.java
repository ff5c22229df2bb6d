package infobloxcni.daemon;

import static infobloxcni.daemon.TestHost.netconf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import infobloxcni.daemon.observe.DaemonMetrics;
import infobloxcni.wapisim.WapiSimulator;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a client can do to the metrics: label values come from fixed sets whatever a client sends
 * (the verb label was the raw CNI_COMMAND, a histogram of 15 buckets for each new value, and random
 * verbs from a --socket-group member took a 64 MiB daemon to OutOfMemoryError in 75 s), per-network
 * series are capped, and scrapes are answered while another user floods the metrics port with
 * connections (it listened with a backlog of 3).
 */
class MetricsBoundsTest {
    private static final String NET = netconf("1.0.0", "net1", "\"subnet\":\"10.63.0.0/24\"");

    @TempDir
    Path dir;

    private WapiSimulator grid;
    private TestHost host;

    @BeforeEach
    void start() throws Exception {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        grid = TestHost.startGrid();
        host = new TestHost(grid, dir, "host-m");
        host.start(host.config(), new InetSocketAddress("127.0.0.1", 0));
    }

    @AfterEach
    void stop() {
        host.close();
        grid.close();
    }

    @Test
    void labelsComeFromFixedSetsWhateverTheClientSends() throws Exception {
        Random random = new Random(19);
        for (int i = 0; i < 300; i++) {
            StringBuilder verb = new StringBuilder();
            for (int n = 1 + random.nextInt(100); n > 0; n--) verb.append((char) ('A' + random.nextInt(26)));
            assertEquals(1, host.call(verb.toString(), "c" + i, "eth0", NET).exitCode());
        }
        assertTrue(host.call("ADD", "c1", "eth0", NET).ok());
        assertEquals(1, host.call("add", "c1", "eth0", NET).exitCode());
        String m = scrape();
        Set<String> verbs = labelValues(m, "infoblox_cni_operation_duration_seconds_count", "verb");
        assertEquals(Set.of("ADD", "invalid"), verbs, () -> verbs.size() + " verb labels");
        assertTrue(
                m.contains("infoblox_cni_operation_duration_seconds_count{outcome=\"4\",verb=\"invalid\"} 301")
                        || m.contains(
                                "infoblox_cni_operation_duration_seconds_count{verb=\"invalid\",outcome=\"4\"} 301"),
                m);
        // the daemon's own series: the JVM's and the process's are a fixed set no request changes
        long series = m.lines().filter(l -> l.startsWith("infoblox_cni_")).count();
        assertTrue(series < 200, series + " series after 300 requests with random verbs");
    }

    @Test
    void perNetworkSeriesAreCapped() throws Exception {
        int networks = DaemonMetrics.MAX_NETWORK_LABELS + 4;
        for (int i = 0; i < networks; i++) {
            String conf = netconf(
                    "1.0.0", String.format("net%02d", i), "\"subnet\":\"10.64." + i + ".0/24\",\"pool-size\":1");
            assertTrue(host.call("ADD", "c" + i, "eth0", conf).ok());
        }
        Eventually.await(
                "every network's pool is refilled",
                () -> host.daemon().ipam().pool().levels().size() == networks);
        String m = scrape();
        Set<String> free = labelValues(m, "infoblox_cni_pool_free", "network");
        assertEquals(DaemonMetrics.MAX_NETWORK_LABELS + 1, free.size(), () -> free.size() + " network labels: " + free);
        assertTrue(free.contains(DaemonMetrics.OTHER_NETWORKS), free.toString());
        assertTrue(free.contains("net00") && !free.contains(String.format("net%02d", networks - 1)), free.toString());
        assertEquals(
                4.0,
                sample(m, "infoblox_cni_pool_free{network=\"" + DaemonMetrics.OTHER_NETWORKS + "\"}"),
                "the networks beyond the cap, summed");
        assertEquals(
                DaemonMetrics.MAX_NETWORK_LABELS + 1,
                labelValues(m, "infoblox_cni_pool_target", "network").size());
    }

    /**
     * Any local user can reach the metrics port. Requests begun and never finished used to hold the
     * exporter's handler threads for good (ten of them: every scrape after failed), and its backlog
     * of 3 dropped connections while others churned.
     */
    @Test
    void scrapesAreAnsweredWhileAnotherUserFloodsThePort() throws Exception {
        int port = host.daemon().metricsAddress().getPort();
        String target = "tcp:127.0.0.1:" + port;
        HttpClient client =
                HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        try (SecondUser other = SecondUser.create()) {
            Process slow = ConnectionLimitsTest.asUser(
                    other, ConnectionChurn.class, target, "40", "90", "GET /metrics HTTP/1.1\r\nHost: x\r\n");
            Process churn = ConnectionLimitsTest.asUser(other, ConnectionChurn.class, target, "16", "90");
            try {
                ConnectionLimitsTest.awaitLine(slow, "churning");
                ConnectionLimitsTest.awaitLine(churn, "churning"); // every thread at full speed
                System.err.println(
                        "DEBUG " + ExternalCommand.run(Duration.ofSeconds(5), "sh", "-c", "ss -tn | grep -c :" + port));
                List<String> failed = new ArrayList<>();
                for (int i = 0; i < 10 && slow.isAlive() && churn.isAlive(); i++) {
                    try {
                        HttpResponse<String> r = client.send(
                                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
                                        .timeout(Duration.ofSeconds(10))
                                        .build(),
                                HttpResponse.BodyHandlers.ofString());
                        if (r.statusCode() != 200) failed.add("HTTP " + r.statusCode());
                    } catch (IOException e) {
                        failed.add(e.toString());
                    }
                }
                assertTrue(slow.isAlive() && churn.isAlive(), "the flood ran for all 10 scrapes");
                assertEquals(
                        List.of(),
                        failed.subList(0, Math.min(3, failed.size())),
                        failed.size() + " of 10 scrapes failed during the flood");
            } finally {
                for (Process p : List.of(slow, churn)) {
                    p.destroyForcibly();
                    p.waitFor(10, TimeUnit.SECONDS);
                }
            }
        }
    }

    private String scrape() throws Exception {
        int port = host.daemon().metricsAddress().getPort();
        HttpResponse<String> r = HttpClient.newHttpClient()
                .send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode());
        return r.body();
    }

    /** The values the label {@code label} takes in the samples of {@code metric}. */
    static Set<String> labelValues(String exposition, String metric, String label) {
        Pattern p = Pattern.compile("[{,]" + label + "=\"([^\"]*)\"");
        Set<String> out = new TreeSet<>();
        for (String line : exposition.lines().toList()) {
            if (!line.startsWith(metric + "{")) continue;
            Matcher m = p.matcher(line);
            if (m.find()) out.add(m.group(1));
        }
        return out;
    }

    private static double sample(String exposition, String series) {
        return exposition
                .lines()
                .filter(l -> l.startsWith(series + " "))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no " + series + " in\n" + exposition));
    }
}
