package infobloxcni.plugin;

import infobloxcni.wire.CniError;
import infobloxcni.wire.CniVersion;
import infobloxcni.wire.Envelope;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * The CNI IPAM executable ({@code bin/infoblox}). It forwards the request (the {@code CNI_*}
 * environment and stdin) to the resident daemon over {@code <ipam.socket-dir>/<ipam.type>.sock},
 * prints the daemon's answer on stdout and exits with the daemon's exit code. It answers VERSION
 * itself, and reports a missing or unknown {@code CNI_COMMAND}, a network configuration that is not
 * a JSON object (code 6, without a daemon call), an unreachable daemon and a timeout as CNI error
 * JSON. Nothing but CNI JSON is ever written to stdout.
 *
 * <p>This class only dispatches (as {@code skel.PluginMain} does for CNI's Go plugins), over one
 * class a job: {@link CniEnvironment} (the {@code CNI_*} variables), {@link ForwardingConf} (stdin
 * and the netconf fields the plugin reads), {@link DaemonConnection} (connect with retries, send,
 * receive, within the timeout kept by a {@link Watchdog}) and {@link ErrorAnswer} (CNI error JSON).
 *
 * <p>Written for start-up time: JDK only, no lambdas, streams, regular expressions or
 * {@code String.format}, and string concatenation compiled inline (see the module's pom). This
 * holds for every class of the plugin: each CNI call is a new JVM, so that nearly all of its time
 * is start-up (docs/benchmarks.md).
 */
public final class PluginMain {

    /** Exit code of every error the plugin reports itself. */
    static final int ERROR_EXIT = 1;

    private PluginMain() {}

    /**
     * One CNI invocation's inputs and outputs: what {@link #main} takes from the process, what
     * tests and {@link StartupTraining} hand in.
     *
     * @param environment the {@code CNI_*} variables
     * @param stdin the network configuration
     * @param stdout receives exactly the CNI JSON to print
     * @param stderr diagnostics
     * @param programName the name the plugin was invoked as (the default ipam.type), or null
     * @param defaultSocketDir the socket directory when the netconf names none
     */
    record Invocation(
            CniEnvironment environment,
            InputStream stdin,
            OutputStream stdout,
            PrintStream stderr,
            String programName,
            String defaultSocketDir) {}

    public static void main(String[] args) {
        PrintStream out = System.out;
        if (args.length == 1 && args[0].equals("--version")) {
            // bin/infoblox --version, typed by a person: a runtime passes no arguments
            out.println(versionLine());
            out.flush();
            Runtime.getRuntime().halt(0);
        }
        int code = run(new Invocation(
                CniEnvironment.ofProcess(),
                new FileInputStream(FileDescriptor.in),
                out,
                System.err,
                System.getProperty("infoblox.plugin.name"),
                ForwardingConf.DEFAULT_SOCKET_DIR));
        out.flush();
        System.err.flush();
        // halt, not exit: exit first looks up the System.Logger of java.lang.Runtime (to log the call
        // at DEBUG), which sets up the JDK's logging, ~25 classes and a few ms of a call that is all
        // start-up; the plugin has no shutdown hooks to run (docs/benchmarks.md)
        Runtime.getRuntime().halt(code);
    }

    /** "infoblox-cni plugin <version>": the version the build wrote into the jar's manifest ("dev" from classes). */
    static String versionLine() {
        Package p = PluginMain.class.getPackage();
        String v = p == null ? null : p.getImplementationVersion();
        return "infoblox-cni plugin " + (v == null ? "dev" : v) + " (CNI " + CniVersion.LATEST + ")";
    }

    /**
     * Runs one CNI invocation.
     *
     * @return the exit code
     */
    static int run(Invocation call) {
        OutputStream stdout = call.stdout();
        ForwardingConf conf = null;
        try {
            conf = ForwardingConf.read(call.stdin(), call.programName(), call.defaultSocketDir());
            String command = call.environment().command();
            switch (command) {
                case "VERSION":
                    write(
                            stdout,
                            "{\"cniVersion\":" + MiniJson.quote(conf.cniVersion) + ",\"supportedVersions\":"
                                    + supportedVersions() + "}\n");
                    return 0;
                case "ADD", "DEL", "CHECK", "GC", "STATUS":
                    break;
                default:
                    throw new CniError(
                            CniError.INVALID_ENV,
                            "invalid environment variable CNI_COMMAND: unknown command " + MiniJson.quote(command),
                            "expected one of ADD, DEL, CHECK, GC, STATUS, VERSION");
            }
            conf.checkForwardable();
            Envelope.Request request;
            try {
                request = new Envelope.Request(call.environment().variables(), conf.netconf);
            } catch (IllegalArgumentException e) {
                throw new CniError(
                        CniError.INVALID_ENV, "cannot forward the CNI_* environment: " + e.getMessage(), null);
            }
            Envelope.Response response = DaemonConnection.call(conf, command, request);
            stdout.write(response.stdout());
            stdout.flush();
            return response.exitCode();
        } catch (CniError e) {
            ErrorAnswer.print(stdout, cniVersion(conf), e);
            return ERROR_EXIT;
        } catch (IOException e) {
            // stdout itself failed: nothing more can be printed there
            call.stderr().println("infoblox: cannot write to stdout: " + e);
            return ERROR_EXIT;
        } catch (RuntimeException | Error e) {
            e.printStackTrace(call.stderr());
            ErrorAnswer.print(
                    stdout, cniVersion(conf), CniError.IO_FAILURE, "internal error in the infoblox plugin: " + e, null);
            return ERROR_EXIT;
        }
    }

    /** The cniVersion to answer errors in: the configuration's, or the newest before it was read. */
    private static String cniVersion(ForwardingConf conf) {
        return conf == null ? CniVersion.LATEST : conf.cniVersion;
    }

    /** {@link CniVersion#SUPPORTED} as a JSON array. */
    static String supportedVersions() {
        StringBuilder sb = new StringBuilder(96).append('[');
        for (int i = 0; i < CniVersion.SUPPORTED.size(); i++) {
            sb.append(i == 0 ? "" : ",").append(MiniJson.quote(CniVersion.SUPPORTED.get(i)));
        }
        return sb.append(']').toString();
    }

    private static void write(OutputStream out, String s) throws IOException {
        out.write(s.getBytes(StandardCharsets.UTF_8));
        out.flush();
    }
}
