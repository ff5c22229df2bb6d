package infobloxcni.daemon;

import infobloxcni.daemon.config.ConfigFile;
import infobloxcni.daemon.config.DaemonConfig;
import infobloxcni.daemon.config.SharedFlags;
import infobloxcni.daemon.observe.LogLevels;
import infobloxcni.daemon.observe.ShutdownLogManager;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.logging.Logger;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code infoblox-cni-daemon}: the original driver's flags with its defaults (single-dash
 * spellings such as {@code -grid-host} still work), plus what a crash-safe daemon needs; every
 * flag may also be set in the settings file ({@link ConfigFile}). The one deliberate change:
 * {@code --ssl-verify} defaults to true. {@code status} asks the running daemon what it sees.
 */
@Command(
        name = "infoblox-cni-daemon",
        mixinStandardHelpOptions = true,
        versionProvider = DaemonMain.VersionOfJar.class,
        sortOptions = false,
        usageHelpWidth = 110,
        subcommands = StatusCommand.class,
        description = {
            "Resident Infoblox IPAM daemon for CNI. The plugin (bin/infoblox) forwards every CNI call to it.",
            "Every flag can be set in the settings file as 'name = value', the name without dashes; a flag given here wins."
        })
public final class DaemonMain implements Callable<Integer> {
    static final String NAME = "infoblox-cni-daemon";

    @CommandLine.Mixin
    public SharedFlags host = new SharedFlags();

    @Option(
            names = "--log-level",
            defaultValue = "INFO",
            description = "error, warn, info, debug or trace (or a JDK level); debug and trace are for this daemon's"
                    + " own loggers only (default: ${DEFAULT-VALUE})")
    String logLevel;

    @Option(
            names = "--metrics-address",
            paramLabel = "HOST:PORT",
            description =
                    "serve Prometheus metrics at http://HOST:PORT/metrics (port 0: a free one, logged); off unless set; "
                            + "keep it on a loopback address such as 127.0.0.1:9135")
    String metricsAddress;

    @Option(
            names = "--print-config",
            description = "print the settings this command line and the settings file give, each with where it came"
                    + " from (password hidden), and exit; a running daemon's own: status --settings")
    boolean printConfig;

    @Spec
    CommandSpec spec;

    final PrintStream out;
    final PrintStream err;
    private ConfigFile settingsFile = ConfigFile.none();
    /** As given, for a reload to parse again. */
    private String[] args = new String[0];

    public DaemonMain() {
        this(System.out, System.err);
    }

    DaemonMain(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    public static void main(String[] args) {
        // Before anything touches java.util.logging (a class literal does not load LogManager; calling
        // a static method of its subclass would, and with it read the property too early).
        if (System.getProperty("java.util.logging.manager") == null)
            System.setProperty("java.util.logging.manager", ShutdownLogManager.class.getName());
        System.exit(run(args, System.out, System.err));
    }

    /** Parses the arguments with the settings file's values as defaults, and runs. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        DaemonMain main = new DaemonMain(out, err);
        CommandLine line = ConfigFile.commandLine(NAME, main, main.host, null, args, err);
        if (line == null) return 2;
        main.settingsFile = (ConfigFile) line.getDefaultValueProvider();
        main.args = args.clone();
        line.setOut(new java.io.PrintWriter(out, true));
        line.setErr(new java.io.PrintWriter(err, true));
        return line.execute(args);
    }

    /** The names the settings file may hold: the daemon's flags (the recover command reads the same file). */
    public static CommandSpec settings() {
        return new CommandLine(new DaemonMain()).getCommandSpec();
    }

    @Override
    public Integer call() throws Exception {
        Logger log = Logger.getLogger(DaemonMain.class.getName());
        DaemonConfig config;
        InetSocketAddress metrics;
        try {
            LogLevels.configure(LogLevels.parse(logLevel));
            config = printConfig
                    ? host.toConfigForPrinting(System.getenv("WAPI_PASSWORD"))
                    : host.toConfig(System.getenv("WAPI_PASSWORD"));
            metrics = metricsAddress == null ? null : parseAddress(metricsAddress);
        } catch (IllegalArgumentException | IOException e) {
            err.println(NAME + ": " + settingsFile.explain(e.getMessage()));
            return 2;
        }
        if (printConfig) {
            printSettings();
            return 0;
        }
        config = config.toBuilder().settingsFile(settingsFile.path()).build();
        for (String warning : host.warnings(config)) log.warning(warning);
        if (metrics != null && !metrics.getAddress().isLoopbackAddress()) {
            log.warning("--metrics-address " + metricsAddress
                    + " is not a loopback address: anyone who reaches it reads the daemon's metrics");
        }
        log.info("starting with " + config.wapi() + ", socket " + config.socketPath() + ", state " + config.stateDir()
                + ", host-id " + config.hostId()
                + (settingsFile.path() == null ? ", no settings file" : ", settings from " + settingsFile.path()));
        Reload reload = new Reload(args, LogLevels.parse(logLevel));
        reload.onHangUp();
        Daemon daemon;
        try {
            daemon = Daemon.start(config, metrics);
        } catch (IOException e) {
            err.println(NAME + ": " + e.getMessage());
            return 1;
        }
        daemon.describeSettings(settingsLines(settingsFile, spec));
        reload.started(daemon);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            log.info("stopping");
            daemon.close();
            log.info("stopped");
            ShutdownLogManager.stopped();
            stopped.countDown();
        }));
        stopped.await();
        return 0;
    }

    /** HOST:PORT (IPv6 in brackets); a name is resolved once, here. */
    static InetSocketAddress parseAddress(String text) {
        int colon = text.lastIndexOf(':');
        if (colon < 0) throw new IllegalArgumentException("--metrics-address must be HOST:PORT, got '" + text + "'");
        String hostPart = text.substring(0, colon).replaceAll("^\\[|\\]$", "");
        int port;
        try {
            port = Integer.parseInt(text.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--metrics-address must be HOST:PORT, got '" + text + "'");
        }
        if (port < 0 || port > 65535)
            throw new IllegalArgumentException("--metrics-address port must be 0..65535, got " + port);
        InetSocketAddress address = new InetSocketAddress(hostPart.isEmpty() ? "127.0.0.1" : hostPart, port);
        if (address.isUnresolved())
            throw new IllegalArgumentException("--metrics-address: cannot resolve '" + hostPart + "'");
        return address;
    }

    /** The effective settings as a settings file would hold them, each with where it came from. */
    private void printSettings() {
        settingsLines(settingsFile, spec).forEach(out::println);
    }

    /**
     * The settings a parsed command line and its settings file give, one line each as a settings
     * file would hold it with where it came from (the password hidden), after a header: what
     * {@code --print-config} prints, and what a running daemon keeps for {@code status --settings}.
     */
    static List<String> settingsLines(ConfigFile file, CommandSpec spec) {
        List<String> lines = new ArrayList<>();
        lines.add("# effective settings of " + NAME
                + (file.path() == null ? " (no settings file)" : " (settings file " + file.path() + ")")
                + "; a flag beats the file, which beats the default");
        file.effective(spec, spec.commandLine().getParseResult(), System.getenv("WAPI_PASSWORD"))
                .forEach((name, valueAndSource) ->
                        lines.add(String.format("%-24s = %-32s # %s", name, valueAndSource[0], valueAndSource[1])));
        return lines;
    }

    /** The version the build wrote into the jar. */
    static final class VersionOfJar implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {NAME + " " + Version.OF_DAEMON};
        }
    }

    /**
     * One line per record on stderr (the JDK's default is two lines and chatty), with whatever
     * clients or the grid sent escaped ({@link LogLineFormatter}).
     */
}
