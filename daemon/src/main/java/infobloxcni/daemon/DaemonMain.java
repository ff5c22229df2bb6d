package infobloxcni.daemon;

import java.io.IOException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Callable;
import java.util.logging.ConsoleHandler;
import java.util.logging.Level;
import java.util.logging.Logger;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code infoblox-cni-daemon}: the original driver's flags with its defaults (single-dash
 * spellings such as {@code -grid-host} still work), plus what a crash-safe daemon needs.
 * The one deliberate change: {@code --ssl-verify} defaults to true.
 */
@Command(name = "infoblox-cni-daemon", mixinStandardHelpOptions = true, version = "infoblox-cni-daemon 0.1.0",
        sortOptions = false, usageHelpWidth = 110,
        description = "Resident Infoblox IPAM daemon for CNI. The plugin (bin/infoblox) forwards every CNI call to it.")
public final class DaemonMain implements Callable<Integer> {

    @CommandLine.Mixin
    HostOptions host = new HostOptions();
    @Option(names = "--log-level", defaultValue = "INFO", description = "SEVERE, WARNING, INFO, FINE (default: ${DEFAULT-VALUE})")
    String logLevel;

    public static void main(String[] args) {
        System.exit(new CommandLine(new DaemonMain()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        configureLogging(Level.parse(logLevel.toUpperCase()));
        Logger log = Logger.getLogger(DaemonMain.class.getName());
        DaemonConfig config;
        try {
            config = host.toConfig(System.getenv("WAPI_PASSWORD"));
        } catch (IllegalArgumentException | IOException e) {
            System.err.println("infoblox-cni-daemon: " + e.getMessage());
            return 2;
        }
        for (String warning : host.warnings(config)) log.warning(warning);
        log.info("starting with " + config.wapi() + ", socket " + config.socketPath() + ", state " + config.stateDir() + ", host-id " + config.hostId());
        Daemon daemon;
        try {
            daemon = Daemon.start(config);
        } catch (IOException e) {
            System.err.println("infoblox-cni-daemon: " + e.getMessage());
            return 1;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            log.info("stopping");
            daemon.close();
            stopped.countDown();
        }));
        stopped.await();
        return 0;
    }

    /**
     * One line per record on stderr (the JDK's default is two lines and chatty), with whatever
     * clients or the grid sent escaped ({@link LogFormat}).
     */
    public static void configureLogging(Level level) {
        Logger root = Logger.getLogger("");
        for (var h : root.getHandlers()) root.removeHandler(h);
        ConsoleHandler stderr = new ConsoleHandler();
        stderr.setLevel(level);
        stderr.setFormatter(new LogFormat());
        root.addHandler(stderr);
        root.setLevel(level);
        Logger.getLogger("okhttp3").setLevel(Level.WARNING);
    }

}
