package infobloxcni.recovery;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import infobloxcni.daemon.AdminClient;
import infobloxcni.daemon.Daemon;
import infobloxcni.daemon.DaemonMain;
import infobloxcni.daemon.audit.JournalAudit;
import infobloxcni.daemon.config.ConfigFile;
import infobloxcni.daemon.config.DaemonConfig;
import infobloxcni.daemon.config.SharedFlags;
import infobloxcni.daemon.observe.LogLevels;
import infobloxcni.wapi.WapiException;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.logging.Level;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code infoblox-cni-recover}: after a crash, says what the journal and the grid disagree on,
 * and with {@code --apply} repairs it. With the daemon running it asks the daemon over its socket
 * (the journal is never opened twice); with the daemon stopped it opens the journal itself.
 *
 * <p>Exit codes: 0 clean, 1 everything found was repaired, 2 problems left, 3 could not run.
 */
@Command(
        name = "infoblox-cni-recover",
        mixinStandardHelpOptions = true,
        versionProvider = RecoverMain.VersionOfJar.class,
        sortOptions = false,
        usageHelpWidth = 110,
        description = {
            "Reports (default) or repairs (--apply) what the journal and the grid disagree on for this host.",
            "Takes the daemon's flags, so it reads the same grid, socket and journal."
        })
public final class RecoverMain implements Callable<Integer> {
    static final int CLEAN = 0, REPAIRED = 1, PROBLEMS_LEFT = 2, FAILED = 3;

    @CommandLine.Mixin
    SharedFlags host = new SharedFlags();

    @Option(
            names = "--apply",
            description = "repair: adopt, release orphans and dead containers' reservations, rebuild a lost journal")
    boolean apply;

    @Option(
            names = "--forget-host",
            paramLabel = "HOST-ID",
            description = {
                "a host that no longer exists: report its pool addresses,",
                "and with --apply release them (never its containers' reservations)"
            })
    String forgetHost;

    @Option(names = "--json", description = "print the report as JSON")
    boolean json;

    @Option(
            names = "--live-file",
            paramLabel = "FILE",
            description = {
                "live attachments: JSON [{\"containerID\":..,\"ifname\":..,\"network\":..}]",
                "or lines 'containerID ifname [network]'; default: the runtime's CNI cache (--cni-cache-dir)"
            })
    Path liveFile;

    private final PrintStream out;
    private final PrintStream err;
    private final Map<String, String> env;

    public RecoverMain() {
        this(System.out, System.err, System.getenv());
    }

    RecoverMain(PrintStream out, Map<String, String> env) {
        this(out, System.err, env);
    }

    RecoverMain(PrintStream out, PrintStream err, Map<String, String> env) {
        this.out = out;
        this.err = err;
        this.env = env;
    }

    public static void main(String[] args) {
        RecoverMain main = new RecoverMain();
        // the daemon's settings file (--config, else /etc/infoblox-cni/daemon.conf): the same grid, socket and journal
        CommandLine line = ConfigFile.commandLine(
                "infoblox-cni-recover", main, main.host, DaemonMain.settings(), args, System.err);
        System.exit(line == null ? FAILED : line.execute(args));
    }

    @Override
    public Integer call() {
        LogLevels.configure(Level.WARNING);
        JournalAudit.Report report;
        try {
            DaemonConfig config = host.toConfig(env.get("WAPI_PASSWORD"));
            for (String warning : host.warnings(config)) err.println("infoblox-cni-recover: warning: " + warning);
            List<JournalAudit.LiveAttachment> live;
            String liveSource;
            if (liveFile != null) {
                live = readLiveFile(liveFile);
                liveSource = liveFile.toString();
            } else {
                live = JournalAudit.liveFromCniCache(config.cniCacheDir());
                liveSource = live == null ? null : config.cniCacheDir().toString();
            }
            report = AdminClient.serving(config.socketPath())
                    ? askDaemon(config.socketPath(), live, liveSource)
                    : Daemon.auditOffline(config, live, liveSource, apply, forgetHost);
        } catch (IllegalArgumentException | IOException | WapiException | infobloxcni.store.JournalException e) {
            err.println("infoblox-cni-recover: " + e.getMessage());
            return FAILED;
        }
        if (json) out.println(JournalAudit.toJson(report).toPrettyString());
        else printTable(report);
        if (report.findings().isEmpty()) return CLEAN;
        return report.applied() && report.findings().stream().allMatch(JournalAudit.Finding::repaired)
                ? REPAIRED
                : PROBLEMS_LEFT;
    }

    private JournalAudit.Report askDaemon(Path socket, List<JournalAudit.LiveAttachment> live, String liveSource)
            throws IOException {
        var args = new ObjectMapper()
                .createObjectNode()
                .put("apply", apply)
                .put("liveSource", liveSource)
                .put("forgetHost", forgetHost);
        if (live != null) args.set("live", JournalAudit.liveToJson(live));
        return JournalAudit.fromJson(
                AdminClient.ask(socket, "audit", args.toString().getBytes(StandardCharsets.UTF_8)));
    }

    /** JSON like CNI GC's valid-attachments, or one {@code containerID ifname [network]} per line. */
    static List<JournalAudit.LiveAttachment> readLiveFile(Path file) throws IOException {
        String text = Files.readString(file).trim();
        List<JournalAudit.LiveAttachment> live = new ArrayList<>();
        if (text.startsWith("[")) {
            for (JsonNode a : new ObjectMapper().readTree(text)) {
                String id = a.path("containerID").asText(a.path("containerId").asText(null));
                String ifName = a.path("ifname").asText(a.path("ifName").asText(null));
                if (id == null || ifName == null)
                    throw new IllegalArgumentException(
                            "--live-file " + file + ": entry without containerID/ifname: " + a);
                live.add(new JournalAudit.LiveAttachment(a.path("network").asText(null), id, ifName));
            }
            return live;
        }
        for (String line : text.split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length == 0 || f[0].isEmpty() || f[0].startsWith("#")) continue;
            if (f.length < 2)
                throw new IllegalArgumentException(
                        "--live-file " + file + ": expected 'containerID ifname [network]', got '" + line + "'");
            live.add(new JournalAudit.LiveAttachment(f.length > 2 ? f[2] : null, f[0], f[1]));
        }
        return live;
    }

    private void printTable(JournalAudit.Report report) {
        out.printf(
                "journal: %d record(s); grid: %d reservation(s) of this host; live attachments: %s%n",
                report.journalRecords(),
                report.gridReservations(),
                report.liveSource() == null ? "unknown (nothing is called dead)" : report.liveSource());
        if (report.findings().isEmpty()) {
            out.println("clean: the journal and the grid agree");
            return;
        }
        String format = "%-16s %-14s %-24s %-8s %-15s %s%n";
        out.printf(
                format,
                "KIND",
                "NETWORK",
                "CONTAINER",
                "IF",
                "ADDRESS",
                report.applied() ? "DETAIL -> REPAIR" : "DETAIL");
        for (JournalAudit.Finding f : report.findings()) {
            out.printf(
                    format,
                    f.kind(),
                    f.key().network(),
                    f.key().containerId(),
                    f.key().ifName(),
                    f.address() == null ? "-" : f.address(),
                    f.detail() + (f.repair() == null ? "" : " -> " + f.repair()));
        }
        if (!report.applied()) out.println("(report only: run again with --apply to repair)");
    }

    /** The version the build wrote into this jar's manifest (it used to be written here by hand, and went stale). */
    static final class VersionOfJar implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"infoblox-cni-recover " + infobloxcni.daemon.Version.of(RecoverMain.class)};
        }
    }
}
