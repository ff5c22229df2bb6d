package infobloxcni.daemon;

import infobloxcni.daemon.audit.JournalAudit;
import infobloxcni.daemon.config.ConfigChanges;
import infobloxcni.daemon.config.DaemonConfig;
import infobloxcni.daemon.grid.GridNetworks;
import infobloxcni.daemon.grid.ReservationTags;
import infobloxcni.daemon.ipam.Ipam;
import infobloxcni.daemon.observe.DaemonMetrics;
import infobloxcni.daemon.observe.OperationCounts;
import infobloxcni.daemon.observe.Operations;
import infobloxcni.daemon.observe.RequestCalls;
import infobloxcni.daemon.observe.SystemdNotifier;
import infobloxcni.daemon.server.PrivateDirs;
import infobloxcni.daemon.server.SocketServer;
import infobloxcni.daemon.settle.JournalRebuilder;
import infobloxcni.daemon.settle.PoolKeeper;
import infobloxcni.daemon.settle.Reconciler;
import infobloxcni.daemon.settle.Settler;
import infobloxcni.daemon.state.AddressPool;
import infobloxcni.daemon.state.JournalGuard;
import infobloxcni.daemon.state.KeyLocks;
import infobloxcni.wapi.GridHealth;
import infobloxcni.wapi.WapiClient;
import infobloxcni.wapi.WapiException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;

/**
 * One running daemon: journal, grid client, IPAM verbs, background reconciler and the socket,
 * wired together in the order that keeps every promise. It serves as soon as the socket is
 * bound, also while the grid is unreachable; grid checks and journal repair run behind it.
 */
public final class Daemon implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Daemon.class.getName());
    static final Duration JOURNAL_OPEN_TIMEOUT = Duration.ofSeconds(5);

    private final AdminCommands admin;
    /** The settings in effect: a reload ({@link #reconfigure}) replaces the live ones. */
    private volatile DaemonConfig config;

    private final WapiClient wapi;
    private final JournalGuard journal;
    private final Ipam ipam;
    private final Reconciler reconciler;
    private final PoolKeeper keeper;
    private final JournalRebuilder rebuilder;
    private final SocketServer socket;
    private final SystemdNotifier systemd = SystemdNotifier.fromEnvironment(System.getenv());
    private volatile Thread startupChecks;
    private final DaemonMetrics metrics;
    private volatile InetSocketAddress metricsAt;

    /**
     * The parts that do the work, wired the one way both the daemon and the offline audit (the
     * recover command with the daemon stopped) use them. Nothing here starts a thread.
     */
    private record Parts(
            Ipam ipam, PoolKeeper keeper, JournalRebuilder rebuilder, Reconciler reconciler, JournalAudit audit) {
        /**
         * Builds the parts in the order they depend on each other, each given what it needs:
         * the settler (the ownership rule) first, then the networks and the pool keeper that use
         * it, the start-up merge, the reconciler that settles behind answers, and the verbs last.
         *
         * @param servingSince when the daemon started; null for the offline audit
         */
        static Parts wire(
                DaemonConfig config, WapiClient wapi, JournalGuard journal, Clock clock, Instant servingSince) {
            String formerHostId = HostIdentity.formerOf(config.stateDir(), config.hostId());
            ReservationTags tags =
                    new ReservationTags(config.hostId(), config.clusterName(), config.cmpType(), formerHostId);
            KeyLocks locks = new KeyLocks(256);
            KeyLocks settling = new KeyLocks(256);
            AddressPool pool = new AddressPool(journal);
            Settler settler = new Settler(journal, wapi, tags, pool, locks, clock);
            GridNetworks networks = new GridNetworks(wapi, tags, settler::restoreReservations, config.createViews());
            Duration callTimeout = config.wapi().callTimeout();
            PoolKeeper keeper = new PoolKeeper(pool, journal, wapi, networks, tags, locks, settler, clock, callTimeout);
            JournalRebuilder rebuilder = new JournalRebuilder(
                    wapi,
                    tags,
                    config.cniCacheDir(),
                    config.driverName(),
                    clock,
                    keeper,
                    config.networkView(),
                    () -> renamed(config, tags));
            // An ADD_PENDING younger than two whole-call timeouts may still be in flight on the grid.
            // (plus, not multipliedBy: that goes through BigDecimal, whose static set-up was 7 % of start-up)
            Duration addGrace = callTimeout.plus(callTimeout);
            Reconciler reconciler = new Reconciler(
                    settler,
                    settling,
                    journal,
                    rebuilder,
                    wapi.health(),
                    clock,
                    addGrace,
                    config.releaseRetryMax(),
                    callTimeout,
                    keeper);
            Ipam ipam = new Ipam(
                    config, wapi, journal, networks, settler, pool, locks, settling, reconciler, keeper, clock);
            // The moment the grid answers again (or accepts us again), whatever was queued meanwhile goes.
            wapi.health().onChange(change -> {
                if (change.from() == GridHealth.State.DOWN || change.from().refusing()) {
                    reconciler.replayNow();
                    keeper.signal();
                }
            });
            JournalAudit audit = new JournalAudit(
                    wapi,
                    journal,
                    settler,
                    pool,
                    networks,
                    locks,
                    settling,
                    rebuilder,
                    tags,
                    keeper,
                    ipam::defaultPoolSize,
                    clock,
                    servingSince);
            return new Parts(ipam, keeper, rebuilder, reconciler, audit);
        }

        /** Every reservation carries this host's new ID: it is the state directory's from now on. */
        private static void renamed(DaemonConfig config, ReservationTags tags) {
            try {
                HostIdentity.write(config.stateDir(), config.hostId());
                tags.forgetFormerHostId();
            } catch (IOException e) {
                LOG.log(
                        System.Logger.Level.WARNING,
                        "host renamed, but {0} could not be written ({1}): tried again at the next start",
                        config.stateDir().resolve(HostIdentity.FILE),
                        e.getMessage());
            }
        }
    }

    private Daemon(DaemonConfig config, boolean withMetrics, Clock clock) {
        OperationCounts operationCounts = new OperationCounts();
        this.config = config;
        this.journal = JournalGuard.open(config.journalDir(), JOURNAL_OPEN_TIMEOUT, clock);
        this.wapi = new WapiClient(config.wapi());
        Parts parts = Parts.wire(config, wapi, journal, clock, clock.instant());
        this.ipam = parts.ipam();
        this.keeper = parts.keeper();
        this.reconciler = parts.reconciler();
        this.rebuilder = parts.rebuilder();
        wapi.observeCalls(RequestCalls::count);
        // Metrics only when asked for: without them, not one of their classes is loaded.
        this.metrics = withMetrics ? new DaemonMetrics(journal, wapi.health(), ipam.pool(), Version.OF_DAEMON) : null;
        if (metrics != null) wapi.observeCalls(metrics::wapiCall);
        this.admin = new AdminCommands(
                config,
                journal,
                parts.audit(),
                ipam,
                wapi.health(),
                parts.reconciler(),
                parts.keeper(),
                operationCounts,
                () -> metricsAt,
                clock);
        this.socket = new SocketServer(
                config.socketPath(),
                config.socketPermissions(),
                config.socketGroup(),
                config.socketLimits(),
                new RequestHandler(
                        ipam, admin, operationCounts.and(metrics != null ? metrics::operation : Operations.NONE)));
    }

    public static Daemon start(DaemonConfig config) throws IOException {
        return start(config, null);
    }

    /**
     * Starts serving; with {@code metricsAddress}, also Prometheus metrics at
     * {@code http://<address>/metrics} (port 0: a free one, see {@link #metricsAddress()}).
     */
    public static Daemon start(DaemonConfig config, InetSocketAddress metricsAddress) throws IOException {
        return start(config, metricsAddress, Clock.systemUTC());
    }

    /** As {@link #start(DaemonConfig, InetSocketAddress)}, on a clock of the caller's (tests move it on). */
    static Daemon start(DaemonConfig config, InetSocketAddress metricsAddress, Clock clock) throws IOException {
        PrivateDirs.ensure(
                config.stateDir(), PrivateDirs.PRIVATE, "--state-dir"); // before the journal is created in it
        Daemon daemon = new Daemon(config, metricsAddress != null, clock);
        try {
            daemon.socket.start();
            if (metricsAddress != null) {
                daemon.metricsAt = daemon.metrics.serve(metricsAddress, daemon.socket.path());
                LOG.log(
                        System.Logger.Level.INFO,
                        "metrics at http://{0}:{1}/metrics",
                        daemon.metricsAt.getHostString(),
                        String.valueOf(daemon.metricsAt.getPort()));
            }
        } catch (IOException | RuntimeException e) {
            daemon.close();
            throw e;
        }
        daemon.wapi.startHealthMonitoring();
        daemon.systemd.ready(daemon.socket.path(), daemon::statusLine);
        daemon.startupChecks = Thread.ofVirtual().name("startup-checks").start(daemon::checkGrid);
        daemon.reconciler.start(Duration.ofSeconds(1));
        daemon.keeper.start(Duration.ofSeconds(1));
        return daemon;
    }

    /** Says once, at start, whether the grid is reachable and which EAs it lacks. Never blocks serving. */
    private void checkGrid() {
        try {
            wapi.probe();
            Set<String> missing = wapi.missingEaDefinitions(ReservationTags.REQUIRED_EAS);
            if (missing.isEmpty()) {
                LOG.log(
                        System.Logger.Level.INFO,
                        "grid {0} reachable; all extensible attributes defined",
                        config.wapi().gridHost());
            } else {
                LOG.log(
                        System.Logger.Level.ERROR,
                        "grid {0} lacks extensible attribute definition(s) {1}: ADDs will fail until "
                                + "they are defined (Cloud Network Automation license, or define them under Administration > Extensible Attributes)",
                        config.wapi().gridHost(),
                        missing);
            }
        } catch (WapiException e) {
            LOG.log(System.Logger.Level.WARNING, "grid not usable yet, serving anyway: {0}", e.getMessage());
        }
    }

    /**
     * Runs the audit with the daemon stopped: the recover command opens the journal itself
     * (the journal's lock keeps a daemon from starting meanwhile).
     *
     * @throws IllegalArgumentException when the state directory may be changed by others
     */
    public static JournalAudit.Report auditOffline(
            DaemonConfig config,
            List<JournalAudit.LiveAttachment> live,
            String liveSource,
            boolean apply,
            String forgetHost) {
        try {
            PrivateDirs.ensure(config.stateDir(), PrivateDirs.PRIVATE, "--state-dir");
        } catch (IOException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        try (WapiClient wapi = new WapiClient(config.wapi())) {
            Clock clock = Clock.systemUTC();
            JournalGuard journal = JournalGuard.open(config.journalDir(), JOURNAL_OPEN_TIMEOUT, clock);
            try {
                return Parts.wire(config, wapi, journal, clock, null).audit().run(live, liveSource, apply, forgetHost);
            } finally {
                journal.close();
            }
        }
    }

    public Path socketPath() {
        return socket.path();
    }

    public Ipam ipam() {
        return ipam;
    }

    /** Where the metrics are served; null when they are off. */
    /**
     * A reload (SIGHUP): the settings that can change live are applied (new credentials from the
     * next call on, the rest from the next request), and what changed is returned, with the
     * settings whose change needs a restart, for the caller to log.
     */
    public synchronized ConfigChanges reconfigure(DaemonConfig next) {
        ConfigChanges changes = ConfigChanges.between(config, next);
        DaemonConfig applied = ConfigChanges.applyLive(config, next);
        if (!applied.wapi().equals(config.wapi()))
            wapi.credentials(applied.wapi().username(), applied.wapi().password());
        ipam.reconfigure(applied);
        config = applied;
        return changes;
    }

    /** The settings in effect as {@code --print-config} prints them, for {@code status --settings}. */
    public void describeSettings(List<String> lines) {
        admin.describeSettings(lines);
    }

    public InetSocketAddress metricsAddress() {
        return metricsAt;
    }

    JournalRebuilder rebuilder() {
        return rebuilder;
    }

    public PoolKeeper keeper() {
        return keeper;
    }

    public WapiClient wapi() {
        return wapi;
    }

    public GridHealth gridHealth() {
        return wapi.health();
    }

    /** Client connections admitted and not yet closed. */
    int openConnections() {
        return socket.openConnections();
    }

    int journalQuarantines() {
        return journal.quarantines();
    }

    /** Waits (bounded) until the start-up look at the grid is done: tests count the grid's calls after it. */
    void awaitStartupChecks(Duration limit) throws InterruptedException {
        Thread t = startupChecks;
        if (t != null) t.join(limit);
    }

    /** Settlements behind answers (a DEL's release, say) still under way. */
    int settlingBehind() {
        return reconciler.settlingBehind();
    }

    /** One line for systemd's status: grid health, journal, pools. */
    String statusLine() {
        var records = journal.all();
        long pending = records.stream()
                .filter(a -> a.state() != infobloxcni.store.AttachmentState.ALLOCATED
                        && a.state() != infobloxcni.store.AttachmentState.POOL)
                .count();
        StringBuilder line = new StringBuilder("grid ").append(wapi.health().state());
        if ((wapi.health().failingFast() || wapi.health().state().refusing())
                && wapi.health().lastError() != null)
            line.append(" (").append(wapi.health().lastError()).append(')');
        line.append("; journal ")
                .append(records.size())
                .append(" record(s), ")
                .append(pending)
                .append(" pending");
        ipam.pool()
                .levels()
                .forEach((network, free) -> line.append("; pool ")
                        .append(network)
                        .append(' ')
                        .append(free)
                        .append('/')
                        .append(Math.max(0, ipam.pool().targetOf(network))));
        return line.toString();
    }

    @Override
    public void close() {
        systemd.stopping();
        systemd.close();
        socket.close();
        if (metrics != null) metrics.close();
        keeper.close();
        reconciler.close();
        wapi.close();
        journal.close();
    }
}
