package infobloxcni.daemon;

import infobloxcni.store.Attachment;
import infobloxcni.store.AttachmentState;
import infobloxcni.wapi.GridHealth;
import infobloxcni.wapi.WapiCall;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.Unit;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * The daemon's Prometheus metrics, made with the Prometheus Java client and served by its
 * exporter on the JDK's HTTP server only when {@code --metrics-address} is set (nothing listens
 * otherwise). Counters and histograms are updated on the request path; journal, grid and pool
 * figures are read at scrape time, from the same places the {@code status} command reads them.
 * Label values come from small fixed sets (verbs, outcomes, WAPI object types, states, the
 * networks this host serves), never from container IDs.
 */
final class DaemonMetrics implements AutoCloseable {
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
    private HTTPServer server;

    /**
     * @param journal the records, counted by state at scrape time
     * @param health  the grid's health as the daemon's client sees it
     * @param pool    this host's warm addresses
     */
    DaemonMetrics(JournalGuard journal, GridHealth health, AddressPool pool) {
        GaugeWithCallback.builder()
                .name("infoblox_cni_grid_state")
                .help("1 for the state the daemon believes the grid is in (UP, DEGRADED, DOWN), 0 for the others")
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
                .callback(cb -> pool.levels().forEach((network, free) -> cb.call(free, network)))
                .register(registry);
        GaugeWithCallback.builder()
                .name("infoblox_cni_pool_target")
                .help("How many warm addresses this host keeps per network (its latest request's pool size)")
                .labelNames("network")
                .callback(cb -> pool.targets().forEach((network, target) -> cb.call(target.size(), network)))
                .register(registry);
    }

    private static Map<AttachmentState, Integer> countByState(List<Attachment> records) {
        Map<AttachmentState, Integer> counts = new EnumMap<>(AttachmentState.class);
        for (AttachmentState s : AttachmentState.values()) counts.put(s, 0);
        for (Attachment a : records) counts.merge(a.state(), 1, Integer::sum);
        return counts;
    }

    /** One CNI operation answered: {@code outcome} is "ok" or the CNI error code. */
    void operation(String verb, String outcome, long nanos) {
        operations.labelValues(verb, outcome).observe(nanos / 1e9);
    }

    /** A {@link WapiCall.Observer}: counts every call, times those that reached the grid. */
    void wapiCall(WapiCall call) {
        wapiCalls
                .labelValues(call.method(), call.objectType(), call.outcome().name())
                .inc();
        if (call.outcome() != WapiCall.Outcome.NOT_SENT)
            wapiLatency.labelValues(call.method(), call.objectType()).observe(call.nanos() / 1e9);
    }

    /** Serves {@code /metrics} on this address (port 0: a free one); returns where it listens. */
    InetSocketAddress serve(InetSocketAddress address) throws IOException {
        server = HTTPServer.builder()
                .hostname(address.getHostString())
                .port(address.getPort())
                .registry(registry)
                .buildAndStart();
        return new InetSocketAddress(address.getAddress(), server.getPort());
    }

    PrometheusRegistry registry() {
        return registry;
    }

    @Override
    public void close() {
        if (server != null) server.close();
    }
}
