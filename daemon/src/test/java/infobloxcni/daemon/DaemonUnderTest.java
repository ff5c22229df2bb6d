package infobloxcni.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import infobloxcni.daemon.audit.JournalAudit;
import infobloxcni.wapisim.WapiSimulator;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The daemon the adversarial test drives: a process of its own ({@link DaemonProcess}, so that
 * kill -9 is real) on one host's socket, state and CNI cache directories ({@link TestHost}'s
 * layout), with what the test does to it: kill, stop, restart, lose its journal, rename the host;
 * and its admin requests (status, audit), each bounded.
 */
final class DaemonUnderTest implements AutoCloseable {
    /** For start-up speed only: the test restarts the daemon many times. */
    private static final List<String> JVM = List.of("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto");

    private static final Duration ADMIN_LIMIT = Duration.ofSeconds(20);

    private final WapiSimulator grid;
    private final Path dir;
    private final Path logs;
    private volatile TestHost host;
    private DaemonProcess process;
    private final List<String> hostIds = new CopyOnWriteArrayList<>();
    private final List<Path> logFiles = new ArrayList<>();

    DaemonUnderTest(WapiSimulator grid, Path dir, String hostId) throws IOException {
        this.grid = grid;
        this.dir = dir;
        this.logs = dir.resolve("logs");
        Files.createDirectories(logs);
        Files.createDirectories(dir.resolve("cni-cache"));
        this.host = new TestHost(grid, dir, hostId);
        hostIds.add(hostId);
    }

    TestHost host() {
        return host;
    }

    String hostId() {
        return host.hostId;
    }

    /** Every host ID this machine's daemon has run under, the first one first. */
    List<String> hostIds() {
        return List.copyOf(hostIds);
    }

    Path cniCacheDir() {
        return dir.resolve("cni-cache");
    }

    Path socketDir() {
        return host.socket().getParent();
    }

    /** Starts the daemon on this host's state and waits (at most a minute) until it serves. */
    void start() throws Exception {
        process = DaemonProcess.start(
                grid,
                host,
                logs,
                "",
                JVM,
                "--wapi-call-timeout",
                "3s",
                "--wapi-read-timeout",
                "3s",
                "--log-level",
                "INFO",
                "--pool-size",
                "0");
        logFiles.add(process.logFile());
        process.awaitServing(host);
    }

    boolean running() {
        return process != null && process.alive();
    }

    /** SIGKILL. */
    void kill9() throws InterruptedException {
        if (process != null) process.kill();
    }

    /** SIGTERM, and the wait for a clean stop. */
    void stop() {
        if (process != null) process.close();
    }

    /** With the daemon stopped: its journal is gone (a disk replaced, a directory wiped). */
    void loseJournal() throws IOException {
        if (running()) throw new IllegalStateException("the journal is lost only with the daemon stopped");
        TestHost.deleteTree(host.journalDir());
    }

    /** With the daemon stopped: the next start runs under another --host-id, on the same state. */
    void renameHost(String newHostId) {
        if (running()) throw new IllegalStateException("the host is renamed only with the daemon stopped");
        host = new TestHost(grid, dir, newHostId);
        hostIds.add(newHostId);
    }

    /** What {@code infoblox-cni-daemon status} shows: grid health, journal by state, pending work, pools. */
    JsonNode status() {
        TestHost.Answer a = host.admin("status", "", ADMIN_LIMIT);
        if (a == null || a.exitCode() != 0) throw new IllegalStateException("status did not answer: " + a);
        return a.json();
    }

    /** The journal's records as the daemon's admin "journal" request lists them. */
    JsonNode journal() {
        TestHost.Answer a = host.admin("journal", "", ADMIN_LIMIT);
        if (a == null || a.exitCode() != 0) throw new IllegalStateException("journal did not answer: " + a);
        return a.json();
    }

    /** The recover command's audit, report only. */
    JournalAudit.Report audit(List<JournalAudit.LiveAttachment> live) {
        return host.audit(live, false, null, Duration.ofSeconds(60));
    }

    /**
     * Waits (bounded) until the daemon has merged its journal with the grid after its start: until
     * then a lost journal still lacks what the grid will give back.
     */
    void awaitJournalMerged() throws InterruptedException {
        Eventually.await(
                "the start-up merge of the journal with the grid",
                Duration.ofSeconds(90),
                () -> status().path("journalMerged").asBoolean());
    }

    /** Whether the daemon refuses grid calls at once, believing the grid down. */
    boolean failingFast() {
        return status().path("grid").path("failingFast").asBoolean();
    }

    /** Whether the daemon believed the grid down at some moment since {@code t}: it does now, or it came back since. */
    boolean mayHaveKnownGridDownSince(java.time.Instant t) {
        if (!running()) return false;
        JsonNode grid;
        try {
            grid = status().path("grid");
        } catch (java.io.UncheckedIOException killedMeanwhile) {
            // killed right after it answered (kill -9 under load): who knows what it believed; its answer is
            // held to the grid once it has settled (invariant 1's settled check), and the runtime's model
            // must hear of the answer either way, or the container leaks in the model, not in the daemon
            return true;
        }
        if (grid.path("failingFast").asBoolean()) return true;
        JsonNode ended = grid.path("lastDownEnded");
        return ended.isTextual() && java.time.Instant.parse(ended.asText()).isAfter(t);
    }

    /** The work the status lists as still to be done on the grid, one line each. */
    static List<String> pending(JsonNode status) {
        List<String> out = new ArrayList<>();
        for (JsonNode p : status.path("pending")) {
            out.add(p.path("state").asText() + " " + p.path("network").asText() + "/"
                    + p.path("containerId").asText() + "/" + p.path("ifName").asText() + " "
                    + p.path("address").asText() + " (" + p.path("lastError").asText() + ")");
        }
        return out;
    }

    /** The daemon logs of this run, oldest first. */
    List<Path> logFiles() {
        return List.copyOf(logFiles);
    }

    @Override
    public void close() {
        if (process != null && process.alive()) {
            try {
                process.kill();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
