package infobloxcni.plugin;

import infobloxcni.wire.CniError;
import infobloxcni.wire.CniVersion;
import infobloxcni.wire.DaemonIdentity;
import infobloxcni.wire.Envelope;
import java.io.BufferedInputStream;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/**
 * The CNI IPAM executable ({@code bin/infoblox}). It forwards the request (the {@code CNI_*}
 * environment and stdin) to the resident daemon over {@code <ipam.socket-dir>/<ipam.type>.sock},
 * prints the daemon's answer on stdout and exits with the daemon's exit code. It answers VERSION
 * itself, and reports a missing or unknown {@code CNI_COMMAND}, a network configuration that is not
 * a JSON object (code 6, without a daemon call), an unreachable daemon and a timeout as CNI error
 * JSON. Nothing but CNI JSON is ever written to stdout.
 *
 * <p>Without systemd socket activation a restarting daemon leaves its socket refused or missing
 * for a moment; the plugin retries the connect (10 ms pauses growing to 200 ms) for
 * {@code ipam.daemon-connect-timeout} seconds (default 5, at most {@code ipam.daemon-timeout})
 * before it answers 11 (50 for STATUS). Other connect failures, and failures after connecting,
 * are answered at once. The whole call stays within {@code ipam.daemon-timeout}.
 *
 * <p>Written for start-up time: JDK only, no lambdas, streams, regular expressions or
 * {@code String.format}, and string concatenation compiled inline (see the module's pom).
 */
public final class PluginMain {

    static final String DEFAULT_SOCKET_DIR = "/run/cni";
    static final String DEFAULT_TYPE = "infoblox";
    static final int DEFAULT_TIMEOUT_SECONDS = 60;
    static final int MIN_TIMEOUT_SECONDS = 1;
    static final int MAX_TIMEOUT_SECONDS = 600;
    /** How long a refused or missing socket is retried: a daemon restart without socket activation. */
    static final int DEFAULT_CONNECT_TIMEOUT_SECONDS = 5;
    /** First and largest pause between connect attempts. */
    static final long FIRST_RETRY_MILLIS = 10;

    static final long MAX_RETRY_MILLIS = 200;
    /** Largest stdin accepted (the envelope's value limit). */
    static final int MAX_STDIN_BYTES = Envelope.MAX_VALUE_BYTES;
    /** Exit code of every error the plugin reports itself. */
    static final int ERROR_EXIT = 1;

    private PluginMain() {}

    public static void main(String[] args) {
        PrintStream out = System.out;
        Map<String, String> env;
        StringBuilder notUtf8 = new StringBuilder();
        byte[] environ = readEnviron();
        env = environ != null ? cniEnvironment(environ, notUtf8) : System.getenv();
        int code = run(
                env,
                notUtf8.length() == 0 ? null : notUtf8.toString(),
                new FileInputStream(FileDescriptor.in),
                out,
                System.err,
                System.getProperty("infoblox.plugin.name"),
                DEFAULT_SOCKET_DIR);
        out.flush();
        System.err.flush();
        // halt, not exit: exit first looks up the System.Logger of java.lang.Runtime (to log the call
        // at DEBUG), which sets up the JDK's logging, ~25 classes and a few ms of a call that is all
        // start-up; the plugin has no shutdown hooks to run (docs/benchmarks.md)
        Runtime.getRuntime().halt(code);
    }

    /** This process's environment as the kernel holds it (the bytes it was started with); null where there is none. */
    static byte[] readEnviron() {
        try (FileInputStream in = new FileInputStream("/proc/self/environ")) {
            return in.readAllBytes();
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /**
     * The {@code CNI_*} variables of an environ block ({@code NAME=value} entries, each ended by a
     * NUL), decoded as UTF-8 whatever the locale. The JVM decodes {@link System#getenv()} with the
     * locale's charset, which under {@code LANG=C} turns every non-ASCII byte into U+FFFD, so that
     * distinct values become equal. The first variable whose value is not UTF-8 is named in
     * {@code notUtf8} and left out; the first of two entries with one name wins, as with getenv(3).
     */
    static Map<String, String> cniEnvironment(byte[] environ, StringBuilder notUtf8) {
        TreeMap<String, String> env = new TreeMap<>();
        int start = 0;
        for (int i = 0; i <= environ.length; i++) {
            if (i < environ.length && environ[i] != 0) {
                continue;
            }
            if (i - start > 4
                    && environ[start] == 'C'
                    && environ[start + 1] == 'N'
                    && environ[start + 2] == 'I'
                    && environ[start + 3] == '_') {
                int eq = start;
                while (eq < i && environ[eq] != '=') {
                    eq++;
                }
                if (eq < i) {
                    String name = new String(environ, start, eq - start, StandardCharsets.US_ASCII);
                    try {
                        String value = StandardCharsets.UTF_8
                                .newDecoder()
                                .decode(ByteBuffer.wrap(environ, eq + 1, i - eq - 1))
                                .toString();
                        if (!env.containsKey(name)) {
                            env.put(name, value);
                        }
                    } catch (CharacterCodingException e) {
                        if (notUtf8.length() == 0) {
                            notUtf8.append(name);
                        }
                    }
                }
            }
            start = i + 1;
        }
        return env;
    }

    /**
     * How this call is forwarded: the few netconf fields the plugin reads (the cniVersion to answer
     * errors in, the socket, the timeouts), with their defaults applied. The daemon parses the
     * whole netconf ({@code NetConf}).
     */
    static final class ForwardingConf {
        /** cniVersion used when the configuration has none (or cannot be parsed). */
        String cniVersion = CniVersion.LATEST;

        String type;
        String socketDir = DEFAULT_SOCKET_DIR;
        long timeoutMillis = DEFAULT_TIMEOUT_SECONDS * 1000L;
        /** How long connect attempts are repeated while the socket is refused or missing; 0: one attempt. */
        long connectTimeoutMillis = DEFAULT_CONNECT_TIMEOUT_SECONDS * 1000L;
        /** Why the configuration could not be read, or null. */
        String parseError;

        static ForwardingConf of(byte[] stdin, String programName, String defaultSocketDir) {
            ForwardingConf n = new ForwardingConf();
            n.socketDir = defaultSocketDir;
            n.type = validName(programName) ? programName : DEFAULT_TYPE;
            Object doc;
            try {
                doc = MiniJson.parse(stdin);
            } catch (MiniJson.JsonException e) {
                n.parseError = e.getMessage();
                return n;
            }
            if (!(doc instanceof Map<?, ?> conf)) {
                n.parseError = "it is not a JSON object";
                return n;
            }
            if (conf.get("cniVersion") instanceof String v && !v.isEmpty()) {
                n.cniVersion = v;
            }
            if (conf.get("ipam") instanceof Map<?, ?> ipam) {
                if (ipam.get("type") instanceof String t && validName(t)) {
                    n.type = t;
                }
                if (ipam.get("socket-dir") instanceof String d && !d.isEmpty() && d.indexOf('\0') < 0) {
                    n.socketDir = d;
                }
                double seconds = seconds(ipam.get("daemon-timeout"));
                if (!Double.isNaN(seconds)) {
                    seconds = Math.max(MIN_TIMEOUT_SECONDS, Math.min(MAX_TIMEOUT_SECONDS, seconds));
                    n.timeoutMillis = Math.round(seconds * 1000);
                }
                seconds = seconds(ipam.get("daemon-connect-timeout"));
                if (!Double.isNaN(seconds)) {
                    n.connectTimeoutMillis = Math.round(Math.max(0, seconds) * 1000);
                }
            }
            // the retries happen inside the overall deadline
            n.connectTimeoutMillis = Math.min(n.connectTimeoutMillis, n.timeoutMillis);
            return n;
        }

        /** A number of seconds given as a JSON number or a numeric string; NaN for anything else. */
        private static double seconds(Object value) {
            if (value instanceof Number num) {
                return num.doubleValue();
            }
            if (value instanceof String str) {
                try {
                    return Double.parseDouble(str.trim());
                } catch (NumberFormatException ignored) {
                    // keep the default; the daemon validates the field
                }
            }
            return Double.NaN;
        }

        /** A plugin name usable as a socket file name. */
        static boolean validName(String s) {
            return s != null
                    && !s.isEmpty()
                    && !s.equals(".")
                    && !s.equals("..")
                    && s.indexOf('/') < 0
                    && s.indexOf('\0') < 0;
        }

        Path socketPath() {
            return Path.of(socketDir, type + ".sock");
        }

        String timeoutText() {
            return secondsText(timeoutMillis);
        }

        String connectTimeoutText() {
            return secondsText(connectTimeoutMillis);
        }

        private static String secondsText(long ms) {
            return ms % 1000 == 0 ? (ms / 1000) + " s" : (ms / 1000.0) + " s";
        }
    }

    /**
     * Runs one CNI invocation.
     *
     * @param environment the process environment (only {@code CNI_*} variables are used)
     * @param stdin       the network configuration
     * @param stdout      receives exactly the CNI JSON to print
     * @param stderr      diagnostics
     * @param programName the name the plugin was invoked as, or null
     * @return the exit code
     */
    static int run(
            Map<String, String> environment,
            InputStream stdin,
            OutputStream stdout,
            PrintStream stderr,
            String programName) {
        return run(environment, stdin, stdout, stderr, programName, DEFAULT_SOCKET_DIR);
    }

    /** As {@link #run(Map, InputStream, OutputStream, PrintStream, String)}, with another default socket dir. */
    static int run(
            Map<String, String> environment,
            InputStream stdin,
            OutputStream stdout,
            PrintStream stderr,
            String programName,
            String defaultSocketDir) {
        return run(environment, null, stdin, stdout, stderr, programName, defaultSocketDir);
    }

    /** @param notUtf8 the name of a {@code CNI_*} variable whose value is not UTF-8, or null */
    static int run(
            Map<String, String> environment,
            String notUtf8,
            InputStream stdin,
            OutputStream stdout,
            PrintStream stderr,
            String programName,
            String defaultSocketDir) {
        ForwardingConf conf = null;
        try {
            byte[] config;
            try {
                config = stdin.readNBytes(MAX_STDIN_BYTES + 1);
            } catch (IOException e) {
                throw new CniError(
                        CniError.IO_FAILURE,
                        "infoblox plugin could not read the network configuration from stdin: " + e.getMessage(),
                        e.toString());
            }
            boolean tooLarge = config.length > MAX_STDIN_BYTES;
            conf = ForwardingConf.of(tooLarge ? new byte[0] : config, programName, defaultSocketDir);

            if (notUtf8 != null) {
                throw new CniError(
                        CniError.INVALID_ENV,
                        "environment variable " + notUtf8 + " is not valid UTF-8",
                        "CNI variables are text; the plugin reads them as UTF-8 whatever the locale");
            }
            String command = environment.get("CNI_COMMAND");
            if (command == null || command.isEmpty()) {
                throw new CniError(
                        CniError.INVALID_ENV,
                        "required environment variable CNI_COMMAND is not set",
                        "the runtime sets CNI_COMMAND to one of ADD, DEL, CHECK, GC, STATUS, VERSION");
            }
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
            if (tooLarge) {
                throw new CniError(
                        CniError.DECODE_FAILURE,
                        "network configuration on stdin is larger than " + MAX_STDIN_BYTES
                                + " bytes (4 MiB), the most the infoblox plugin accepts",
                        null);
            }
            if (conf.parseError != null) {
                // no daemon needed to say so, and it must not turn into "daemon not reachable" (11)
                throw new CniError(
                        CniError.DECODE_FAILURE,
                        "network configuration on stdin could not be decoded: " + conf.parseError,
                        "the runtime passes the network's configuration (a JSON object, e.g. "
                                + "the file in /etc/cni/net.d) on stdin");
            }

            TreeMap<String, String> env = new TreeMap<>();
            for (Map.Entry<String, String> e : environment.entrySet()) {
                if (e.getKey().startsWith("CNI_")) {
                    env.put(e.getKey(), e.getValue());
                }
            }
            Envelope.Request request;
            try {
                request = new Envelope.Request(env, config);
            } catch (IllegalArgumentException e) {
                throw new CniError(
                        CniError.INVALID_ENV, "cannot forward the CNI_* environment: " + e.getMessage(), null);
            }
            Envelope.Response response = call(conf, command, request);
            stdout.write(response.stdout());
            stdout.flush();
            return response.exitCode();
        } catch (CniError e) {
            printError(stdout, conf, e.code(), e.getMessage(), e.details());
            return ERROR_EXIT;
        } catch (IOException e) {
            // stdout itself failed: nothing more can be printed there
            stderr.println("infoblox: cannot write to stdout: " + e);
            return ERROR_EXIT;
        } catch (RuntimeException | Error e) {
            e.printStackTrace(stderr);
            printError(stdout, conf, CniError.IO_FAILURE, "internal error in the infoblox plugin: " + e, null);
            return ERROR_EXIT;
        }
    }

    /**
     * Connects, sends and receives, all within the configured timeout. A refused or missing socket
     * (the daemon restarting without socket activation) is retried for ipam.daemon-connect-timeout.
     */
    static Envelope.Response call(ForwardingConf conf, String command, Envelope.Request request) throws CniError {
        Path socket = conf.socketPath();
        // STATUS must answer 50 ("cannot ADD") rather than 11 when the daemon is not there
        int unavailable = "STATUS".equals(command) ? CniError.STATUS_CANNOT_ADD : CniError.TRY_AGAIN_LATER;
        long started = System.nanoTime();
        SocketChannel channel = open();
        Watchdog watchdog = new Watchdog(channel, conf.timeoutMillis);
        watchdog.start();
        try {
            // while the daemon is up the first attempt is the only one: the retries cost nothing then
            long pause = FIRST_RETRY_MILLIS;
            while (true) {
                try {
                    channel.connect(UnixDomainSocketAddress.of(socket));
                    break;
                } catch (IOException | RuntimeException e) {
                    if (watchdog.timedOut()) {
                        throw timeout(conf, socket, unavailable, "connecting");
                    }
                    boolean restarting = daemonRestarting(e, socket);
                    long left = conf.connectTimeoutMillis * 1_000_000L - (System.nanoTime() - started);
                    if (!restarting || left <= 0) {
                        throw notReachable(
                                conf, command, socket, unavailable, e, restarting && conf.connectTimeoutMillis > 0);
                    }
                    // the last pause ends at the connect deadline, so the last attempt is made there
                    if (!pause(Math.min(pause, (left + 999_999) / 1_000_000L))) {
                        throw notReachable(conf, command, socket, unavailable, e, false);
                    }
                    pause = Math.min(pause * 2, MAX_RETRY_MILLIS);
                    // a channel whose connect failed is closed: every attempt needs a new one
                    close(channel);
                    channel = open();
                    if (!watchdog.watch(channel)) {
                        throw timeout(conf, socket, unavailable, "connecting");
                    }
                }
            }
            // nothing is sent to, or believed from, a process that took the socket path but is not the daemon
            String impostor = DaemonIdentity.problem(channel);
            if (impostor != null) {
                throw new CniError(
                        unavailable,
                        "infoblox plugin refuses to talk to " + socket + ": " + impostor,
                        "someone who may write " + socket.getParent()
                                + " put their own socket there; check who owns that"
                                + " directory, and restart infoblox-cni-daemon");
            }
            Envelope.Response response;
            try {
                IOException unsent = null;
                try {
                    request.write(Channels.newOutputStream(channel));
                } catch (IOException e) {
                    // The daemon answers some requests without reading them (busy: at a connection
                    // limit, or draining a refused one) and closes: the write then fails with a broken
                    // pipe, but its answer is there to read. Only without one is the write's failure
                    // what the runtime hears.
                    if (watchdog.timedOut()) throw e;
                    unsent = e;
                }
                try {
                    channel.shutdownOutput();
                } catch (IOException ignored) {
                    // the daemon may already have closed its side; reading tells
                }
                try {
                    response = Envelope.Response.read(new BufferedInputStream(Channels.newInputStream(channel), 8192));
                } catch (IOException noAnswer) {
                    if (unsent == null) throw noAnswer;
                    unsent.addSuppressed(noAnswer);
                    throw unsent;
                }
            } catch (Envelope.TruncatedEnvelopeException e) {
                if (watchdog.timedOut()) {
                    throw timeout(conf, socket, unavailable, "waiting for the answer");
                }
                throw new CniError(
                        unavailable,
                        "infoblox daemon at " + socket + " closed the connection without "
                                + (e.endedBeforeFirstByte() ? "answering" : "a complete answer")
                                + "; it may have restarted, try again",
                        e.getMessage());
            } catch (Envelope.MalformedEnvelopeException e) {
                throw new CniError(
                        CniError.IO_FAILURE,
                        "infoblox daemon at " + socket + " sent an answer the plugin cannot read: " + e.getMessage(),
                        "are the plugin and infoblox-cni-daemon from the same release?");
            } catch (IOException e) {
                if (watchdog.timedOut()) {
                    throw timeout(conf, socket, unavailable, "waiting for the answer");
                }
                throw new CniError(
                        unavailable,
                        "infoblox daemon at " + socket + " failed during the request: " + reason(e)
                                + "; it may have restarted, try again",
                        e.toString());
            }
            if (!watchdog.finish()) {
                throw timeout(conf, socket, unavailable, "waiting for the answer");
            }
            return response;
        } finally {
            watchdog.finish();
            close(channel);
        }
    }

    private static SocketChannel open() throws CniError {
        try {
            return SocketChannel.open(StandardProtocolFamily.UNIX);
        } catch (IOException | UnsupportedOperationException e) {
            throw new CniError(
                    CniError.IO_FAILURE,
                    "infoblox plugin cannot open a Unix-domain socket: " + e.getMessage(),
                    e.toString());
        }
    }

    private static void close(SocketChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // nothing to do
        }
    }

    /**
     * True for the connect failures of a daemon that is restarting: the socket file is there but
     * nobody listens (refused), or it is not there yet. Anything else (permission denied, ...)
     * will not go away by waiting.
     */
    private static boolean daemonRestarting(Throwable e, Path socket) {
        if (e instanceof java.net.ConnectException) {
            return true; // ECONNREFUSED
        }
        // ENOENT; but a path too long for a Unix socket is "missing" too, and stays so
        String m = e.getMessage();
        return e.getClass() == java.net.SocketException.class
                && (m == null || !m.contains("too long"))
                && !Files.exists(socket);
    }

    /** Sleeps between connect attempts; false if interrupted. */
    private static boolean pause(long millis) {
        try {
            Thread.sleep(millis);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static CniError notReachable(
            ForwardingConf conf, String command, Path socket, int code, Throwable e, boolean retried) {
        String tried = retried
                ? ", still after retrying for " + conf.connectTimeoutText() + " (ipam.daemon-connect-timeout)"
                : "";
        return new CniError(
                code,
                "infoblox daemon not reachable at " + socket + ": " + reason(e) + tried
                        + "; is infoblox-cni-daemon running?",
                "the plugin forwards every " + command + " to the daemon over " + socket
                        + " (<ipam.socket-dir>/<ipam.type>.sock); start the daemon, or make ipam.socket-dir"
                        + " and ipam.type match its --socket-dir and --driver-name");
    }

    private static CniError timeout(ForwardingConf conf, Path socket, int code, String phase) {
        return new CniError(
                code,
                "infoblox daemon at " + socket + " did not answer within " + conf.timeoutText()
                        + " (ipam.daemon-timeout)",
                "timed out " + phase + "; the daemon may be overloaded or stuck,"
                        + " or the grid slow: raise ipam.daemon-timeout (1 to 600 s, default 60) or check the daemon's log");
    }

    private static String reason(Throwable e) {
        String m = e.getMessage();
        return m == null || m.isEmpty() ? e.getClass().getSimpleName() : m;
    }

    /**
     * Closes the channel when the deadline passes, which makes a blocked connect, write or read
     * fail at once. Exactly one of {@link #finish()} and the deadline wins. A connect retry hands
     * over its new channel with {@link #watch}.
     */
    static final class Watchdog extends Thread {
        private static final int RUNNING = 0;
        private static final int FINISHED = 1;
        private static final int TIMED_OUT = 2;

        private SocketChannel channel; // guarded by this
        private final long deadline;
        private int state = RUNNING;

        Watchdog(SocketChannel channel, long timeoutMillis) {
            super("infoblox-plugin-timeout");
            setDaemon(true);
            this.channel = channel;
            this.deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        }

        @Override
        public void run() {
            long remaining;
            while ((remaining = deadline - System.nanoTime()) > 0) {
                try {
                    Thread.sleep(remaining / 1_000_000L + 1);
                } catch (InterruptedException e) {
                    return;
                }
                synchronized (this) {
                    if (state != RUNNING) {
                        return;
                    }
                }
            }
            SocketChannel ch;
            synchronized (this) {
                if (state != RUNNING) {
                    return;
                }
                state = TIMED_OUT;
                ch = channel;
            }
            try {
                ch.close();
            } catch (IOException ignored) {
                // the blocked call fails either way
            }
        }

        /** Watches this channel from now on; false (channel left open) if the deadline has passed. */
        synchronized boolean watch(SocketChannel next) {
            if (state != RUNNING) {
                return false;
            }
            channel = next;
            return true;
        }

        /** Marks the call complete; false if the deadline had already passed. */
        boolean finish() {
            boolean won;
            synchronized (this) {
                if (state == RUNNING) {
                    state = FINISHED;
                }
                won = state == FINISHED;
            }
            interrupt();
            return won;
        }

        synchronized boolean timedOut() {
            return state == TIMED_OUT;
        }
    }

    // ---- output ---------------------------------------------------------------------------------

    /** {@link CniVersion#SUPPORTED} as a JSON array. */
    static String supportedVersions() {
        StringBuilder sb = new StringBuilder(96).append('[');
        for (int i = 0; i < CniVersion.SUPPORTED.size(); i++) {
            sb.append(i == 0 ? "" : ",").append(MiniJson.quote(CniVersion.SUPPORTED.get(i)));
        }
        return sb.append(']').toString();
    }

    static String errorJson(String cniVersion, int code, String msg, String details) {
        StringBuilder sb = new StringBuilder(256);
        sb.append("{\"cniVersion\":")
                .append(MiniJson.quote(cniVersion))
                .append(",\"code\":")
                .append(code)
                .append(",\"msg\":")
                .append(MiniJson.quote(msg));
        if (details != null && !details.isEmpty()) {
            sb.append(",\"details\":").append(MiniJson.quote(details));
        }
        return sb.append("}\n").toString();
    }

    private static void printError(OutputStream stdout, ForwardingConf conf, int code, String msg, String details) {
        String version = conf == null ? CniVersion.LATEST : conf.cniVersion;
        try {
            write(stdout, errorJson(version, code, msg, details));
        } catch (IOException ignored) {
            // stdout is gone: the exit code still tells
        }
    }

    private static void write(OutputStream out, String s) throws IOException {
        out.write(s.getBytes(StandardCharsets.UTF_8));
        out.flush();
    }
}
