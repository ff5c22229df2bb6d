package infobloxcni.daemon;

import infobloxcni.wapi.WapiClient;
import infobloxcni.wapi.WapiException;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
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

    private final DaemonConfig config;
    private final WapiClient wapi;
    private final JournalGuard journal;
    private final Ipam ipam;
    private final Reconciler reconciler;
    private final SocketServer socket;

    private Daemon(DaemonConfig config) {
        this.config = config;
        Clock clock = Clock.systemUTC();
        this.journal = JournalGuard.open(config.journalDir(), JOURNAL_OPEN_TIMEOUT);
        this.wapi = new WapiClient(config.wapi());
        ReservationTags tags = new ReservationTags(config.hostId(), config.clusterName(), config.cmpType());
        this.ipam = new Ipam(config, wapi, journal, tags, clock);
        JournalRebuilder rebuilder = new JournalRebuilder(wapi, tags, config.cniCacheDir(), config.driverName(), clock);
        // An ADD_PENDING younger than two whole-call timeouts may still be in flight on the grid.
        Duration addGrace = config.wapi().callTimeout().multipliedBy(2);
        this.reconciler = new Reconciler(ipam, journal, rebuilder, clock, addGrace, config.releaseRetryMax());
        ipam.onPendingRelease(reconciler::nudge);
        // Bounded: with the grid away the ADD cannot succeed anyway, and should say so soon.
        Duration syncWait = config.wapi().callTimeout().compareTo(Duration.ofSeconds(5)) < 0 ? config.wapi().callTimeout() : Duration.ofSeconds(5);
        ipam.beforeAllocatingUnknown(() -> journal.awaitGridSync(syncWait));
        this.socket = new SocketServer(config.socketPath(), config.socketPermissions(), config.socketGroup(), config.socketLimits(),
                new RequestHandler(ipam, new AdminCommands(journal, new JournalAudit(wapi, journal, ipam, rebuilder, tags)), config));
    }

    public static Daemon start(DaemonConfig config) throws IOException {
        PrivateDirs.ensure(config.stateDir(), PrivateDirs.PRIVATE, "--state-dir"); // before the journal is created in it
        Daemon daemon = new Daemon(config);
        try {
            daemon.socket.start();
        } catch (IOException | RuntimeException e) {
            daemon.close();
            throw e;
        }
        Thread.ofVirtual().name("startup-checks").start(daemon::checkGrid);
        daemon.reconciler.start(Duration.ofSeconds(1));
        return daemon;
    }

    /** Says once, at start, whether the grid is reachable and which EAs it lacks. Never blocks serving. */
    private void checkGrid() {
        try {
            wapi.probe();
            Set<String> missing = wapi.missingEaDefinitions(ReservationTags.REQUIRED_EAS);
            if (missing.isEmpty()) {
                LOG.log(System.Logger.Level.INFO, "grid {0} reachable; all extensible attributes defined", config.wapi().gridHost());
            } else {
                LOG.log(System.Logger.Level.ERROR, "grid {0} lacks extensible attribute definition(s) {1}: ADDs will fail until "
                        + "they are defined (Cloud Network Automation license, or define them under Administration > Extensible Attributes)",
                        config.wapi().gridHost(), missing);
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
    public static JournalAudit.Report auditOffline(DaemonConfig config, List<JournalAudit.LiveAttachment> live, String liveSource, boolean apply) {
        try {
            PrivateDirs.ensure(config.stateDir(), PrivateDirs.PRIVATE, "--state-dir");
        } catch (IOException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        Clock clock = Clock.systemUTC();
        try (WapiClient wapi = new WapiClient(config.wapi())) {
            JournalGuard journal = JournalGuard.open(config.journalDir(), JOURNAL_OPEN_TIMEOUT);
            try {
                ReservationTags tags = new ReservationTags(config.hostId(), config.clusterName(), config.cmpType());
                Ipam ipam = new Ipam(config, wapi, journal, tags, clock);
                JournalRebuilder rebuilder = new JournalRebuilder(wapi, tags, config.cniCacheDir(), config.driverName(), clock);
                return new JournalAudit(wapi, journal, ipam, rebuilder, tags).run(live, liveSource, apply);
            } finally {
                journal.close();
            }
        }
    }

    public Path socketPath() { return socket.path(); }

    public Ipam ipam() { return ipam; }

    int journalQuarantines() { return journal.quarantines(); }

    @Override
    public void close() {
        socket.close();
        reconciler.close();
        wapi.close();
        journal.close();
    }
}
