package infobloxcni.wapisim;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code bin/infoblox-wapi-sim}: runs the simulator until SIGTERM / SIGINT. */
@Command(
        name = "infoblox-wapi-sim",
        mixinStandardHelpOptions = true,
        versionProvider = WapiSimulatorMain.VersionOfJar.class,
        description = {
            "A stateful stand-in for an Infoblox grid's WAPI, for demos and tests.",
            "Prints 'infoblox-wapi-sim listening on <url>' on stdout when ready. See docs/wapi-simulator.md."
        })
public final class WapiSimulatorMain implements Callable<Integer> {

    @Option(
            names = "--port",
            paramLabel = "PORT",
            description = "TCP port; 0 for any free port (default: 8080, or 8443 with --https)")
    Integer port;

    @Option(
            names = "--bind",
            paramLabel = "ADDR",
            defaultValue = "127.0.0.1",
            description = "address to listen on (default: ${DEFAULT-VALUE})")
    String bind;

    @Option(names = "--username", defaultValue = "admin", description = "WAPI user name (default: ${DEFAULT-VALUE})")
    String username;

    @Option(
            names = "--password-file",
            paramLabel = "FILE",
            description = "file holding the WAPI password (first line); else $WAPI_PASSWORD; else 'infoblox'")
    Path passwordFile;

    @Option(
            names = "--password",
            paramLabel = "PASSWORD",
            description = "the WAPI password (visible in ps: prefer --password-file or $WAPI_PASSWORD)")
    String password;

    @Option(names = "--https", description = "serve HTTPS with a self-signed certificate (its PEM path goes to stderr)")
    boolean https;

    @Option(names = "--ca-out", paramLabel = "FILE", description = "with --https: also copy the certificate PEM here")
    Path caOut;

    @Option(names = "--seed", paramLabel = "FILE", description = "JSON file of objects to preload")
    Path seed;

    @Option(
            names = "--latency-ms",
            paramLabel = "MS",
            defaultValue = "0",
            description = "delay added to every WAPI call (default: ${DEFAULT-VALUE})")
    long latencyMs;

    @Option(
            names = "--capacity",
            paramLabel = "N",
            defaultValue = "0",
            description =
                    "at most N WAPI calls carried out at once, the rest queue in order (default: ${DEFAULT-VALUE},"
                            + " unlimited)")
    int capacity;

    @Option(names = "--no-cloud-eas", description = "start without the cloud EA definitions (VM ID, VM Name, ...)")
    boolean noCloudEas;

    @Option(
            names = "--no-request-object",
            description = "behave as a grid without the multiple-request object (POST request)")
    boolean noRequestObject;

    @Option(names = "--verbose", description = "log one line per WAPI call on stderr (method, path, status)")
    boolean verbose;

    private final PrintStream out;
    private final PrintStream err;
    private final Map<String, String> env;

    public WapiSimulatorMain() {
        this(System.out, System.err, System.getenv());
    }

    WapiSimulatorMain(PrintStream out, PrintStream err, Map<String, String> env) {
        this.out = out;
        this.err = err;
        this.env = env;
    }

    public static void main(String[] args) {
        int code = new CommandLine(new WapiSimulatorMain()).execute(args);
        if (code != 0) System.exit(code);
    }

    @Override
    public Integer call() throws Exception {
        WapiSimulator sim;
        try {
            sim = startSimulator();
        } catch (IllegalArgumentException | UncheckedIOException | IOException e) {
            err.println("infoblox-wapi-sim: " + e.getMessage());
            return 2;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime()
                .addShutdownHook(new Thread(
                        () -> {
                            sim.close();
                            stopped.countDown();
                        },
                        "wapi-sim-shutdown"));
        stopped.await();
        return 0;
    }

    /** Builds and starts the simulator from the options, and announces it. */
    WapiSimulator startSimulator() throws IOException {
        String pw = resolvePassword();
        int p = port != null ? port : https ? 8443 : 8080;
        WapiSimulator.Builder b = WapiSimulator.builder()
                .port(p)
                .bindAddress(bind)
                .credentials(username, pw)
                .https(https)
                .cloudEas(!noCloudEas)
                .requestObject(!noRequestObject);
        if (seed != null) b.seed(seed);
        if (verbose) b.accessLog(err);
        if (latencyMs < 0) throw new IllegalArgumentException("--latency-ms must not be negative");
        if (capacity < 0) throw new IllegalArgumentException("--capacity must not be negative");
        WapiSimulator sim = b.build().start();
        sim.faults().latency(Duration.ofMillis(latencyMs)).capacity(capacity);
        if (https) {
            err.println("infoblox-wapi-sim: CA certificate (trust this PEM): " + sim.caCertificatePem());
            if (caOut != null) {
                Files.copy(sim.caCertificatePem(), caOut, StandardCopyOption.REPLACE_EXISTING);
                err.println("infoblox-wapi-sim: CA certificate copied to " + caOut);
            }
        }
        out.println("infoblox-wapi-sim listening on " + sim.baseUrl());
        out.flush();
        return sim;
    }

    private String resolvePassword() throws IOException {
        if (passwordFile != null) {
            String first = Files.readString(passwordFile, StandardCharsets.UTF_8)
                    .lines()
                    .findFirst()
                    .orElse("");
            if (first.isEmpty()) throw new IllegalArgumentException("--password-file " + passwordFile + " is empty");
            return first;
        }
        if (password != null) {
            err.println("infoblox-wapi-sim: warning: --password is visible to other users in ps; "
                    + "prefer --password-file or $WAPI_PASSWORD");
            return password;
        }
        String fromEnv = env.get("WAPI_PASSWORD");
        if (fromEnv != null && !fromEnv.isEmpty()) return fromEnv;
        err.println("infoblox-wapi-sim: using the demo password (set $WAPI_PASSWORD or --password-file)");
        return "infoblox";
    }

    /** The version the build wrote into this jar's manifest ("dev" when run from classes). */
    static final class VersionOfJar implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = WapiSimulatorMain.class.getPackage().getImplementationVersion();
            return new String[] {"infoblox-wapi-sim " + (v == null ? "dev" : v)};
        }
    }
}
