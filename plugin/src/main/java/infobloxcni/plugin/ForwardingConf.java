package infobloxcni.plugin;

import infobloxcni.wire.CniError;
import infobloxcni.wire.CniVersion;
import infobloxcni.wire.Envelope;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.Map;

/**
 * How this call is forwarded: the network configuration as read from stdin, and the few netconf
 * fields the plugin reads (the cniVersion to answer errors in, the socket, the timeouts), with
 * their defaults applied. The daemon parses the whole netconf ({@code NetConf}); the plugin reads
 * only what it needs to reach it, so that a configuration it cannot parse is still answered in the
 * right cniVersion, and without a daemon call.
 */
final class ForwardingConf {

    static final String DEFAULT_SOCKET_DIR = "/run/cni";
    static final String DEFAULT_TYPE = "infoblox";
    static final int DEFAULT_TIMEOUT_SECONDS = 60;
    static final int MIN_TIMEOUT_SECONDS = 1;
    static final int MAX_TIMEOUT_SECONDS = 600;
    /** How long a refused or missing socket is retried: a daemon restart without socket activation. */
    static final int DEFAULT_CONNECT_TIMEOUT_SECONDS = 5;
    /** Largest stdin accepted (the envelope's value limit). */
    static final int MAX_STDIN_BYTES = Envelope.MAX_VALUE_BYTES;

    /** cniVersion used when the configuration has none (or cannot be parsed). */
    String cniVersion = CniVersion.LATEST;

    String type;
    String socketDir = DEFAULT_SOCKET_DIR;
    long timeoutMillis = DEFAULT_TIMEOUT_SECONDS * 1000L;
    /** How long connect attempts are repeated while the socket is refused or missing; 0: one attempt. */
    long connectTimeoutMillis = DEFAULT_CONNECT_TIMEOUT_SECONDS * 1000L;
    /** Why the configuration could not be read, or null. */
    String parseError;
    /** The configuration exactly as read from stdin, forwarded as it is ({@link #read} sets it). */
    byte[] netconf;
    /** Whether stdin held more than {@link #MAX_STDIN_BYTES}. */
    boolean tooLarge;

    /** Reads the configuration from stdin (at most one byte more than the limit) and its fields. */
    static ForwardingConf read(InputStream stdin, String programName, String defaultSocketDir) throws CniError {
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
        ForwardingConf n = of(tooLarge ? new byte[0] : config, programName, defaultSocketDir);
        n.netconf = config;
        n.tooLarge = tooLarge;
        return n;
    }

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

    /**
     * Throws the error for a configuration that cannot be forwarded: too large, or not a JSON
     * object. No daemon is needed to say so, and it must not turn into "daemon not reachable" (11).
     */
    void checkForwardable() throws CniError {
        if (tooLarge) {
            throw new CniError(
                    CniError.DECODE_FAILURE,
                    "network configuration on stdin is larger than " + MAX_STDIN_BYTES
                            + " bytes (4 MiB), the most the infoblox plugin accepts",
                    null);
        }
        if (parseError != null) {
            throw new CniError(
                    CniError.DECODE_FAILURE,
                    "network configuration on stdin could not be decoded: " + parseError,
                    "the runtime passes the network's configuration (a JSON object, e.g. "
                            + "the file in /etc/cni/net.d) on stdin");
        }
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
