package infobloxcni.wapi;

import java.time.Duration;
import java.util.Objects;

/**
 * Everything needed to reach one grid, validated here and nowhere else. The password is held
 * but never printed: {@link #toString()} redacts it.
 */
public record WapiConfig(
        String gridHost,
        int port,
        String wapiVersion,
        String username,
        String password,
        SslVerify sslVerify,
        boolean https,
        Duration connectTimeout,
        Duration readTimeout,
        Duration callTimeout,
        int maxAnswerBytes,
        int maxCalls) {

    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(5);
    public static final Duration DEFAULT_READ_TIMEOUT = Duration.ofSeconds(20);
    public static final Duration DEFAULT_CALL_TIMEOUT = Duration.ofSeconds(30);

    /**
     * The most of one answer that is read (4 MiB, {@code --wapi-max-answer-bytes}): some 7,000
     * fixed addresses, far above a page of a search (1,000) or anything else one host asks, and a
     * tree the daemon's 64 MiB heap holds several of. Answers used to be read whole: a 12 MiB one
     * ended that daemon. 0 in the constructor means this default.
     */
    public static final int DEFAULT_MAX_ANSWER_BYTES = 4 << 20;

    public static final int MIN_MAX_ANSWER_BYTES = 64 << 10, MAX_MAX_ANSWER_BYTES = 256 << 20;

    /**
     * WAPI calls one daemon has in flight at once ({@code --wapi-max-calls}); more wait their turn,
     * in order, within their deadline. A grid is shared by every host: ten daemons each sending all
     * their ADDs at once is a burst a Grid Master answers slowly for all of them. 16 matches the
     * connections the client keeps warm. 0 in the constructor means this default.
     */
    public static final int DEFAULT_MAX_CALLS = 16;

    public static final int MAX_MAX_CALLS = 1024;

    public WapiConfig {
        if (gridHost == null || gridHost.isBlank()) throw new IllegalArgumentException("--grid-host must not be empty");
        if (port < 1 || port > 65535) throw new IllegalArgumentException("--wapi-port must be 1..65535, got " + port);
        if (wapiVersion == null || !wapiVersion.matches("\\d+(\\.\\d+){0,3}")) {
            throw new IllegalArgumentException(
                    "--wapi-version must look like 2.5 or 2.12.3, got '" + wapiVersion + "'");
        }
        username = username == null ? "" : username;
        password = password == null ? "" : password;
        Objects.requireNonNull(sslVerify, "sslVerify");
        connectTimeout = positive(connectTimeout, DEFAULT_CONNECT_TIMEOUT, "--wapi-connect-timeout");
        readTimeout = positive(readTimeout, DEFAULT_READ_TIMEOUT, "--wapi-read-timeout");
        callTimeout = positive(callTimeout, DEFAULT_CALL_TIMEOUT, "--wapi-call-timeout");
        if (maxAnswerBytes == 0) maxAnswerBytes = DEFAULT_MAX_ANSWER_BYTES;
        if (maxAnswerBytes < MIN_MAX_ANSWER_BYTES || maxAnswerBytes > MAX_MAX_ANSWER_BYTES) {
            throw new IllegalArgumentException("--wapi-max-answer-bytes must be " + MIN_MAX_ANSWER_BYTES + ".."
                    + MAX_MAX_ANSWER_BYTES + ", got " + maxAnswerBytes);
        }
        if (maxCalls == 0) maxCalls = DEFAULT_MAX_CALLS;
        if (maxCalls < 1 || maxCalls > MAX_MAX_CALLS)
            throw new IllegalArgumentException("--wapi-max-calls must be 1.." + MAX_MAX_CALLS + ", got " + maxCalls);
    }

    /** A config for https://host:port with default timeouts. */
    public static WapiConfig of(
            String gridHost, int port, String wapiVersion, String username, String password, SslVerify sslVerify) {
        return new WapiConfig(gridHost, port, wapiVersion, username, password, sslVerify, true, null, null, null, 0, 0);
    }

    public WapiConfig withHttps(boolean https) {
        return toBuilder().https(https).build();
    }

    public WapiConfig withTimeouts(Duration connect, Duration read, Duration call) {
        return toBuilder().timeouts(connect, read, call).build();
    }

    /** The same grid with other credentials (a reload's new password). */
    public WapiConfig withCredentials(String username, String password) {
        return toBuilder().credentials(username, password).build();
    }

    public WapiConfig withMaxCalls(int calls) {
        return toBuilder().maxCalls(calls).build();
    }

    public WapiConfig withMaxAnswerBytes(int bytes) {
        return toBuilder().maxAnswerBytes(bytes).build();
    }

    /** This config's components, to change some of them: the one place a copy lists them all. */
    private Builder toBuilder() {
        Builder b = new Builder();
        b.gridHost = gridHost;
        b.port = port;
        b.wapiVersion = wapiVersion;
        b.username = username;
        b.password = password;
        b.sslVerify = sslVerify;
        b.https = https;
        b.connectTimeout = connectTimeout;
        b.readTimeout = readTimeout;
        b.callTimeout = callTimeout;
        b.maxAnswerBytes = maxAnswerBytes;
        b.maxCalls = maxCalls;
        return b;
    }

    /** A copy with some components changed; {@link #build} validates it as the constructor does. */
    private static final class Builder {
        private String gridHost, wapiVersion, username, password;
        private int port, maxAnswerBytes, maxCalls;
        private SslVerify sslVerify;
        private boolean https;
        private Duration connectTimeout, readTimeout, callTimeout;

        Builder https(boolean on) {
            https = on;
            return this;
        }

        Builder timeouts(Duration connect, Duration read, Duration call) {
            connectTimeout = connect;
            readTimeout = read;
            callTimeout = call;
            return this;
        }

        Builder credentials(String user, String secret) {
            username = user;
            password = secret;
            return this;
        }

        Builder maxCalls(int calls) {
            maxCalls = calls;
            return this;
        }

        Builder maxAnswerBytes(int bytes) {
            maxAnswerBytes = bytes;
            return this;
        }

        WapiConfig build() {
            return new WapiConfig(
                    gridHost,
                    port,
                    wapiVersion,
                    username,
                    password,
                    sslVerify,
                    https,
                    connectTimeout,
                    readTimeout,
                    callTimeout,
                    maxAnswerBytes,
                    maxCalls);
        }
    }

    /** e.g. {@code https://grid.example:443/wapi/v2.5/}. */
    public String baseUrl() {
        String host = gridHost.contains(":") && !gridHost.startsWith("[") ? "[" + gridHost + "]" : gridHost;
        return (https ? "https" : "http") + "://" + host + ":" + port + "/wapi/v" + wapiVersion + "/";
    }

    private static Duration positive(Duration value, Duration fallback, String flag) {
        if (value == null) return fallback;
        if (value.isNegative() || value.isZero())
            throw new IllegalArgumentException(flag + " must be positive (no infinite timeouts), got " + value);
        return value;
    }

    @Override
    public String toString() {
        return "WapiConfig[" + baseUrl() + ", user=" + username + ", password="
                + (password.isEmpty() ? "<none>" : "<redacted>")
                + (https ? ", sslVerify=" + sslVerify : ", no TLS (http)") + ", connect=" + connectTimeout + ", read="
                + readTimeout + ", call=" + callTimeout + ", maxAnswer=" + maxAnswerBytes + ", maxCalls=" + maxCalls
                + "]";
    }
}
