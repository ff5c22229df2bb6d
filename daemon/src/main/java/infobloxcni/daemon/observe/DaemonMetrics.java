package infobloxcni.daemon.observe;

import com.sun.net.httpserver.HttpServer;
import infobloxcni.daemon.cni.CniRequest;
import infobloxcni.daemon.state.AddressPool;
import infobloxcni.daemon.state.JournalGuard;
import infobloxcni.store.Attachment;
import infobloxcni.store.AttachmentState;
import infobloxcni.wapi.GridHealth;
import infobloxcni.wapi.WapiCall;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.core.metrics.Info;
import io.prometheus.metrics.exporter.httpserver.MetricsHandler;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.Unit;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The daemon's Prometheus metrics, made with the Prometheus Java client and served by its
 * exporter on the JDK's HTTP server only when {@code --metrics-address} is set (nothing listens
 * otherwise). Counters and histograms are updated on the request path; journal, grid and pool
 * figures are read at scrape time, from the same places the {@code status} command reads them.
 * Label values come from small fixed sets whatever a client sends: the verb (one of the CNI
 * verbs, or {@code invalid}: it used to be the raw CNI_COMMAND, a histogram of 15 buckets for each
 * new value, and random verbs took a 64 MiB daemon to OutOfMemoryError), the outcome ({@code ok} or
 * a CNI code), WAPI methods, object types and outcomes, states; never container IDs. Networks are
 * named by clients too: at most {@link #MAX_NETWORK_LABELS} get series of their own (the first by
 * name), the rest are summed under {@link #OTHER_NETWORKS}, a name no CNI network can have.
 *
 * <p>The exporter's own server (HTTPServer) listens with a backlog of 3 and hands each connection
 * to one of ten threads that wait for its request as long as it takes: ten requests begun and never
 * finished, from any local user, and no scrape was answered again. So the JDK's server is set up
 * here ({@link #serve}), with the exporter's handler: a backlog of {@value #BACKLOG}, a virtual
 * thread per exchange, and the JDK server's own bounds on a request's and an answer's time and on
 * the connections it holds ({@link #SERVER_BOUNDS}).
 */
public final class DaemonMetrics implements AutoCloseable {
    /** Networks with series of their own; docs/security.md and the README say so. */
    public static final int MAX_NETWORK_LABELS = 32;
    /** The label of the networks beyond {@link #MAX_NETWORK_LABELS}: '~' is in no CNI network name. */
    public static final String OTHER_NETWORKS = "~others";
    /** The verb label of a request whose CNI_COMMAND is none of the verbs. */
    static final String INVALID_VERB = "invalid";

    static final int BACKLOG = 512;
    /**
     * The JDK server's bounds (system properties it reads once, when it is first used; a value the
     * JVM was given wins): seconds a request may take to arrive and an answer to be taken, seconds a
     * connection may idle, connections held at once (the daemon's descriptors are for its socket).
     */
    static final Map<String, String> SERVER_BOUNDS = Map.of(
            "sun.net.httpserver.maxReqTime", "5",
            "sun.net.httpserver.maxRspTime", "10",
            "sun.net.httpserver.idleInterval", "10",
            "jdk.httpserver.maxConnections", "512");

    private static final double[] SECONDS_BUCKETS = {
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30
    };

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Histogram operations = Histogram.builder()
            .name("infoblox_cni_operation_duration_seconds")
            .unit(Unit.SECONDS)
            .help(
                    "CNI operations answered, by verb and outcome (ok, or the CNI error code), and how long the answer took")
            .labelNames("verb", "outcome")
            .classicOnly()
            .classicUpperBounds(SECONDS_BUCKETS)
            .register(registry);
    private final Counter wapiCalls = Counter.builder()
            .name("infoblox_cni_wapi_calls_total")
            .help(
                    "WAPI calls by method, object type and outcome (ANSWERED; errors: REFUSED 4xx, FAILED 5xx, UNREACHABLE, NOT_SENT)")
            .labelNames("method", "object", "outcome")
            .register(registry);
    private final Histogram wapiLatency = Histogram.builder()
            .name("infoblox_cni_wapi_call_duration_seconds")
            .unit(Unit.SECONDS)
            .help("How long WAPI calls that reached the grid took, by method and object type")
            .labelNames("method", "object")
            .classicOnly()
            .classicUpperBounds(SECONDS_BUCKETS)
            .register(registry);
    private HttpServer server;
    private ExecutorService exchanges;

    /**
     * @param journal the records, counted by state at scrape time
     * @param health  the grid's health as the daemon's client sees it
     * @param pool    this host's warm addresses
     * @param version the daemon's, for {@code infoblox_cni_build_info}
     */
    public DaemonMetrics(JournalGuard journal, GridHealth health, AddressPool pool, String version) {
        Info.builder()
                .name("infoblox_cni_build_info")
                .help("The daemon's version and the Java runtime it runs on; always 1")
                .labelNames("version", "java_version")
                .register(registry)
                .setLabelValues(version, Runtime.version().toString());
        // heap, GC, threads, classes, and the process's RSS, open files and CPU time, as the client makes them
        JvmMetrics.builder().register(registry);
        GaugeWithCallback.builder()
                .name("infoblox_cni_grid_state")
                .help("1 for the state the daemon believes the grid is in (UP, DEGRADED, DOWN, CREDENTIALS_REFUSED,"
                        + " TLS_REFUSED), 0 for the others")
                .labelNames("state")
                .callback(cb -> {
                    GridHealth.State now = health.state();
                    for (GridHealth.State s : GridHealth.State.values()) cb.call(s == now ? 1 : 0, s.name());
                })
                .register(registry);
        GaugeWithCallback.builder()
                .name("infoblox_cni_journal_records")
                .help("Journal records by state")
                .labelNames("state")
                .callback(cb -> countByState(journal.all()).forEach((state, n) -> cb.call(n, state.name())))
                .register(registry);
        GaugeWithCallback.builder()
                .name("infoblox_cni_pending_releases")
                .help("Addresses a DEL let go whose release (or return to the pool) has not reached the grid yet")
                .callback(cb -> {
                    Map<AttachmentState, Integer> counts = countByState(journal.all());
                    cb.call(counts.get(AttachmentState.DEL_PENDING) + counts.get(AttachmentState.RETURN_PENDING));
                })
                .register(registry);
        GaugeWithCallback.builder()
                .name("infoblox_cni_pool_free")
                .help("Free warm addresses in this host's pool, by network")
                .labelNames("network")
                .callback(cb -> capped(pool.levels()).forEach((network, free) -> cb.call(free, network)))
                .register(registry);
        GaugeWithCallback.builder()
                .name("infoblox_cni_pool_target")
                .help("How many warm addresses this host keeps per network (its latest request's pool size)")
                .labelNames("network")
                .callback(cb -> {
                    Map<String, Integer> sizes = new TreeMap<>();
                    pool.targets().forEach((network, target) -> sizes.put(network, target.size()));
                    capped(sizes).forEach((network, size) -> cb.call(size, network));
                })
                .register(registry);
    }

    private static Map<AttachmentState, Integer> countByState(List<Attachment> records) {
        Map<AttachmentState, Integer> counts = new EnumMap<>(AttachmentState.class);
        for (AttachmentState s : AttachmentState.values()) counts.put(s, 0);
        for (Attachment a : records) counts.merge(a.state(), 1, Integer::sum);
        return counts;
    }

    /** Per network, at most {@link #MAX_NETWORK_LABELS} of them by name, the rest summed under {@link #OTHER_NETWORKS}. */
    static Map<String, Integer> capped(Map<String, Integer> perNetwork) {
        Map<String, Integer> out = new LinkedHashMap<>();
        int others = 0;
        boolean any = false;
        for (Map.Entry<String, Integer> e : new TreeMap<>(perNetwork).entrySet()) {
            if (out.size() < MAX_NETWORK_LABELS) {
                out.put(e.getKey(), e.getValue());
            } else {
                others += e.getValue();
                any = true;
            }
        }
        if (any) out.put(OTHER_NETWORKS, others);
        return out;
    }

    /**
     * One CNI operation answered.
     *
     * @param command the verb, null when CNI_COMMAND named none
     * @param outcome "ok" or the CNI error code
     */
    public void operation(CniRequest.Command command, String outcome, long nanos) {
        String verb = command == null ? INVALID_VERB : command.name();
        String label = outcome.equals("ok") || outcome.matches("[0-9]{1,3}") ? outcome : "other";
        operations.labelValues(verb, label).observe(nanos / 1e9);
    }

    /** A {@link WapiCall.Observer}: counts every call, times those that reached the grid. */
    public void wapiCall(WapiCall call) {
        wapiCalls
                .labelValues(call.method(), call.objectType(), call.outcome().name())
                .inc();
        if (call.outcome() != WapiCall.Outcome.NOT_SENT)
            wapiLatency.labelValues(call.method(), call.objectType()).observe(call.nanos() / 1e9);
    }

    /**
     * Serves {@code /metrics} and {@code /healthz} (the request path through {@code socket},
     * {@link HealthHandler}) on this address (port 0: a free one); any other path is 404.
     * Returns where it listens.
     */
    public InetSocketAddress serve(InetSocketAddress address, java.nio.file.Path socket) throws IOException {
        SERVER_BOUNDS.forEach((name, value) -> {
            if (System.getProperty(name) == null) System.setProperty(name, value);
        });
        server = HttpServer.create(address, BACKLOG);
        server.createContext("/metrics", new MetricsHandler(registry));
        server.createContext("/healthz", new HealthHandler(socket));
        exchanges = Executors.newVirtualThreadPerTaskExecutor();
        server.setExecutor(exchanges);
        server.start();
        return new InetSocketAddress(address.getAddress(), server.getAddress().getPort());
    }

    PrometheusRegistry registry() {
        return registry;
    }

    @Override
    public void close() {
        if (server != null) server.stop(0);
        if (exchanges != null) exchanges.shutdownNow();
    }
}
