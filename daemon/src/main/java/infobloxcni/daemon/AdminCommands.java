package infobloxcni.daemon;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import infobloxcni.daemon.audit.JournalAudit;
import infobloxcni.daemon.cni.NetConf;
import infobloxcni.daemon.config.DaemonConfig;
import infobloxcni.daemon.ipam.Ipam;
import infobloxcni.daemon.observe.OperationCounts;
import infobloxcni.daemon.server.EnvelopeHandler;
import infobloxcni.daemon.settle.PoolKeeper;
import infobloxcni.daemon.settle.Reconciler;
import infobloxcni.daemon.settle.Settler;
import infobloxcni.daemon.state.AddressPool;
import infobloxcni.daemon.state.JournalGuard;
import infobloxcni.store.Attachment;
import infobloxcni.store.AttachmentState;
import infobloxcni.wapi.GridHealth;
import infobloxcni.wire.Envelope;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Requests that come from {@code infoblox-cni-recover} rather than from a runtime, over the same
 * socket (root only), so that the journal is never opened by two processes at once. They carry
 * the variable {@value EnvelopeHandler#ADMIN_ENV} instead of CNI_COMMAND.
 */
final class AdminCommands {

    private final JournalGuard journal;
    private final JournalAudit audit;
    private final Ipam ipam;
    private final GridHealth health;
    private final Reconciler reconciler;
    private final PoolKeeper keeper;
    private final DaemonConfig config;
    private final OperationCounts operations;
    private final Supplier<InetSocketAddress> metricsAt;
    private volatile List<String> settings = List.of();
    private final Clock clock;
    private final Instant started;

    AdminCommands(
            DaemonConfig config,
            JournalGuard journal,
            JournalAudit audit,
            Ipam ipam,
            GridHealth health,
            Reconciler reconciler,
            PoolKeeper keeper,
            OperationCounts operations,
            Supplier<InetSocketAddress> metricsAt,
            Clock clock) {
        this.config = config;
        this.operations = operations;
        this.metricsAt = metricsAt;
        this.keeper = keeper;
        this.journal = journal;
        this.audit = audit;
        this.ipam = ipam;
        this.health = health;
        this.reconciler = reconciler;
        this.clock = clock;
        this.started = clock.instant();
    }

    Envelope.Response handle(Envelope.Request request) {
        String command = request.env().get(EnvelopeHandler.ADMIN_ENV);
        return switch (command) {
            case "journal" -> ok(journalJson());
            case "audit" -> audit(request);
            case "status" -> ok(statusJson());
            default ->
                new Envelope.Response(
                        2,
                        ("{\"error\":\"unknown admin command " + command.replace("\"", "'") + "\"}")
                                .getBytes(StandardCharsets.UTF_8));
        };
    }

    /** The daemon's resident memory (VmRSS of /proc/self/status), or -1 where there is none. */
    static long residentBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status")))
                if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        } catch (IOException | NumberFormatException e) {
            // not Linux, or no procfs: status says nothing of it
        }
        return -1;
    }

    /** The settings in effect, as {@code --print-config} prints them (set at the start and by a reload). */
    void describeSettings(List<String> lines) {
        settings = List.copyOf(lines);
    }

    /**
     * What the daemon sees: its version and uptime, grid health and last error, journal records
     * by state, what is still to be done on the grid (pending releases, returns, tags) with each
     * one's next try, and pool levels and targets.
     */
    ObjectNode statusJson() {
        ObjectNode out = NetConf.JSON.createObjectNode();
        Instant now = clock.instant();
        out.put("version", Version.OF_DAEMON)
                .put("started", started.toString())
                .put("uptimeSeconds", Duration.between(started, now).toSeconds());
        long rss = residentBytes();
        if (rss >= 0) out.put("rssBytes", rss);
        InetSocketAddress metrics = metricsAt.get();
        out.put(
                        "settingsFile",
                        config.settingsFile() == null
                                ? null
                                : config.settingsFile().toString())
                .put("metricsAddress", metrics == null ? null : metrics.getHostString() + ":" + metrics.getPort());
        ArrayNode lines = out.putArray("settings");
        settings.forEach(lines::add);
        ObjectNode ops = out.putObject("operations");
        operations
                .snapshot()
                .forEach((verb, n) -> ops.putObject(verb).put("ok", n.ok()).put("errors", n.errors()));
        out.putObject("grid")
                .put("url", config.wapi().baseUrl())
                .put("host", config.wapi().gridHost())
                .put("wapiVersion", config.wapi().wapiVersion())
                .put("state", health.state().name())
                .put("since", String.valueOf(health.since()))
                .put("lastError", health.lastError())
                .put(
                        "lastErrorAt",
                        health.lastErrorAt() == null
                                ? null
                                : health.lastErrorAt().toString())
                .put("failingFast", health.failingFast())
                .put("refusing", health.state().refusing())
                .put(
                        "lastDownEnded",
                        health.lastDownEnded() == null
                                ? null
                                : health.lastDownEnded().toString());
        List<Attachment> records = journal.all();
        // false from a start until the journal is merged with the grid (it may have lost records)
        out.put("journalMerged", !journal.needsGridSync());
        ObjectNode states = out.putObject("journal");
        for (Attachment a : records)
            states.put(a.state().name(), states.path(a.state().name()).asInt() + 1);
        ArrayNode pending = out.putArray("pending");
        records.stream()
                .filter(a -> UNFINISHED.contains(a.state()))
                .sorted(Comparator.comparing(Attachment::updated, Comparator.nullsFirst(Comparator.naturalOrder())))
                .forEach(a -> pending.addObject()
                        .put("state", a.state().name())
                        .put("network", a.key().network())
                        .put("containerId", a.key().containerId())
                        .put("ifName", a.key().ifName())
                        .put("address", a.address())
                        .put("since", String.valueOf(a.updated()))
                        .put("attempts", a.attempts())
                        .put("lastError", a.lastError())
                        .put(
                                "nextTry",
                                reconciler
                                        .nextTry(a.key())
                                        .map(Instant::toString)
                                        .orElse("now")));
        // Addresses answered from the pool while the grid was down that the grid has since given to
        // someone else: the documented outage trade-off, for a person to act on.
        ArrayNode conflicts = out.putArray("conflicts");
        for (Attachment a : Ipam.conflicts(records)) {
            conflicts
                    .addObject()
                    .put("network", a.key().network())
                    .put("containerId", a.key().containerId())
                    .put("ifName", a.key().ifName())
                    .put("address", a.address())
                    .put("detail", a.lastError().substring(Settler.CONFLICT.length()));
        }
        // per network (its target is one), then by view and subnet, which a netconf may have changed
        ObjectNode pools = out.putObject("pools");
        Map<String, String> refused = keeper.refusals();
        ipam.pool().levelsByViewAndSubnet().forEach((network, levels) -> {
            int target = ipam.pool().targetOf(network);
            ObjectNode p = pools.putObject(network)
                    .put(
                            "free",
                            levels.stream().mapToInt(AddressPool.Level::free).sum())
                    .put("target", target)
                    .put("targetKnown", target >= 0)
                    .put("refused", refused.get(network));
            ArrayNode where = p.putArray("byViewAndSubnet");
            for (AddressPool.Level l : levels)
                where.addObject()
                        .put("view", l.view())
                        .put("subnet", l.subnet())
                        .put("free", l.free());
        });
        return out;
    }

    /** Records with work left on the grid. */
    private static final Set<AttachmentState> UNFINISHED = EnumSet.of(
            AttachmentState.ADD_PENDING,
            AttachmentState.DEL_PENDING,
            AttachmentState.TAG_PENDING,
            AttachmentState.RETURN_PENDING,
            AttachmentState.POOL_PENDING);

    /** stdin: {"apply": bool, "liveSource": "...", "live": [..] or null, "forgetHost": "..."}; answers the report. */
    private Envelope.Response audit(Envelope.Request request) {
        try {
            var args = NetConf.JSON.readTree(request.stdin());
            var report = audit.run(
                    JournalAudit.liveFromJson(args.get("live")),
                    args.path("liveSource").asText(null),
                    args.path("apply").asBoolean(false),
                    args.path("forgetHost").asText(null));
            return ok(JournalAudit.toJson(report));
        } catch (java.io.IOException | RuntimeException e) {
            return new Envelope.Response(
                    3,
                    NetConf.JSON
                            .createObjectNode()
                            .put("error", e.toString())
                            .toString()
                            .getBytes(StandardCharsets.UTF_8));
        }
    }

    ArrayNode journalJson() {
        ArrayNode out = NetConf.JSON.createArrayNode();
        for (Attachment a : journal.all()) out.add(toJson(a));
        return out;
    }

    static ObjectNode toJson(Attachment a) {
        return NetConf.JSON
                .createObjectNode()
                .put("network", a.key().network())
                .put("containerId", a.key().containerId())
                .put("ifName", a.key().ifName())
                .put("state", a.state().name())
                .put("address", a.address())
                .put("prefixLength", a.prefixLength())
                .put("gateway", a.gateway())
                .put("ref", a.ref())
                .put("networkView", a.networkView())
                .put("cidr", a.cidr())
                .put("mac", a.mac())
                .put("created", String.valueOf(a.created()))
                .put("updated", String.valueOf(a.updated()))
                .put("attempts", a.attempts())
                .put("lastError", a.lastError());
    }

    private static Envelope.Response ok(Object json) {
        return new Envelope.Response(0, json.toString().getBytes(StandardCharsets.UTF_8));
    }
}
