package infobloxcni.daemon;

import infobloxcni.daemon.config.ConfigChanges;
import infobloxcni.daemon.config.ConfigFile;
import infobloxcni.daemon.config.DaemonConfig;
import infobloxcni.daemon.observe.LogLevels;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.Logger;
import picocli.CommandLine;

/**
 * SIGHUP (systemd's {@code ExecReload=}): the command line, the settings file and the password
 * file read again, as at the start, and what can change live applied (the log level, and what
 * {@link ConfigChanges} lists); the log says what changed and which changed settings need a
 * restart. A settings file the start would refuse is refused here too, and nothing changes. It
 * used to be the JVM's default for SIGHUP: the daemon stopped. The environment is not read again
 * (systemd passes the one of the start: {@code WAPI_PASSWORD} from daemon.env changes with a restart).
 */
final class Reload {
    private static final Logger LOG = Logger.getLogger(Reload.class.getName());

    private final String[] args;
    private Daemon daemon;
    private boolean asked;
    private Level logLevel;

    Reload(String[] args, Level logLevel) {
        this.args = args.clone();
        this.logLevel = logLevel;
    }

    /**
     * Reloads on every SIGHUP from now on: installed before the daemon starts, since its socket
     * serves (and systemd may send a reload) before the start returns, and a SIGHUP without a
     * handler ends the JVM. One that comes while the daemon starts is carried out once it has.
     */
    void onHangUp() {
        sun.misc.SignalHandler before = sun.misc.Signal.handle(new sun.misc.Signal("HUP"), signal -> hungUp());
        // The JVM keeps a signal ignored that was ignored when it started (nohup does that; systemd
        // never does): then no SIGHUP reaches the daemon, and the operator should hear it now.
        if (before == sun.misc.SignalHandler.SIG_IGN)
            LOG.warning("SIGHUP is ignored by whatever started the daemon (nohup?): a reload will not reach it;"
                    + " restart it to change its settings");
    }

    /** The daemon to reload, now that it has started; a SIGHUP that came meanwhile is carried out now. */
    synchronized void started(Daemon started) {
        daemon = started;
        if (asked) reload();
    }

    private synchronized void hungUp() {
        if (daemon == null) asked = true;
        else reload();
    }

    /** Reads the settings again and applies them; returns the log line it wrote. */
    synchronized String reload() {
        ByteArrayOutputStream problems = new ByteArrayOutputStream();
        PrintStream err = new PrintStream(problems, true, StandardCharsets.UTF_8);
        DaemonMain fresh = new DaemonMain(err, err);
        CommandLine line = ConfigFile.commandLine(DaemonMain.NAME, fresh, fresh.host, null, args, err);
        if (line == null) return refused(problems.toString(StandardCharsets.UTF_8));
        ConfigFile file = (ConfigFile) line.getDefaultValueProvider();
        Level level;
        DaemonConfig next;
        try {
            line.parseArgs(args);
            level = LogLevels.parse(fresh.logLevel);
            next = fresh.host.toConfig(System.getenv("WAPI_PASSWORD"));
        } catch (CommandLine.ParameterException | IllegalArgumentException | IOException e) {
            return refused(file.explain(e.getMessage()));
        }
        List<String> applied = new ArrayList<>();
        if (!level.equals(logLevel)) {
            LogLevels.configure(level);
            applied.add("log-level " + LogLevels.name(logLevel) + " -> " + LogLevels.name(level));
            logLevel = level;
        }
        ConfigChanges changes = daemon.reconfigure(next);
        daemon.describeSettings(DaemonMain.settingsLines(file, line.getCommandSpec()));
        applied.addAll(changes.live());
        String said = applied.isEmpty() && changes.restart().isEmpty()
                ? "reloaded: nothing changed"
                : "reloaded: " + (applied.isEmpty() ? "nothing applied" : "applied " + String.join(", ", applied))
                        + (changes.restart().isEmpty()
                                ? ""
                                : "; changed but in effect only after a restart: "
                                        + String.join(", ", changes.restart()));
        LOG.log(changes.restart().isEmpty() ? Level.INFO : Level.WARNING, said);
        return said;
    }

    private static String refused(String why) {
        String said = "reload refused, the settings in effect stay: "
                + why.strip().replace(DaemonMain.NAME + ": ", "").replaceAll("\\s*\\n\\s*", " ");
        LOG.warning(said);
        return said;
    }
}
