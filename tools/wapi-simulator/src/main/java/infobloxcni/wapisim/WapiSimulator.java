package infobloxcni.wapisim;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;

/**
 * A stateful stand-in for an Infoblox grid's WAPI, for tests (embedded, in-process) and demos (CLI).
 * See docs/wapi-simulator.md for what it covers.
 *
 * <pre>{@code
 * try (WapiSimulator sim = WapiSimulator.builder().credentials("admin", "infoblox").build().start()) {
 *     String base = sim.baseUrl() + "/wapi/v2.5/";
 *     ...
 * }
 * }</pre>
 */
public final class WapiSimulator implements AutoCloseable {

    private static final Pattern WAPI_PATH = Pattern.compile("/wapi/v(\\d+(?:\\.\\d+)*)(?:/(.*))?");
    private static final String COOKIE = "ibapauth";
    private static final int LOG_CAPACITY = 1000;

    private final Builder config;
    private final WapiModel model;
    private final WapiApi api;
    private final Faults faults;
    private final ControlEndpoint control;
    private final byte[] userBytes;
    private final byte[] passwordBytes;
    private final SecureRandom random = new SecureRandom();
    private final Map<String, Long> sessions = new ConcurrentHashMap<>();
    private final Map<String, LongAdder> counters = new ConcurrentHashMap<>();
    private final AtomicLong total = new AtomicLong();
    private final ArrayDeque<String> log = new ArrayDeque<>();
    private final Object lifecycle = new Object();
    private NettyHttpServer server;
    private SelfSignedCert cert;
    private boolean started;
    private boolean closed;

    private WapiSimulator(Builder b) {
        this.config = b;
        this.model = new WapiModel(b.cloudEas);
        this.api = new WapiApi(model, b.username, b.cloudEas, b.requestObject);
        this.faults = new Faults(this::switchOutage);
        this.control = new ControlEndpoint(this);
        this.userBytes = b.username.getBytes(StandardCharsets.UTF_8);
        this.passwordBytes = b.password.getBytes(StandardCharsets.UTF_8);
        if (b.seed != null) model.seed(Json.read(b.seed), b.seed.toString());
        if (b.seedJson != null) model.seed(Json.parseSeed(b.seedJson), "seed JSON");
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Configuration. Every setter returns this builder. */
    public static final class Builder {
        private int port = 0;
        private String bindAddress = "127.0.0.1";
        private String username = "admin";
        private String password = "infoblox";
        private boolean https = false;
        private Path seed;
        private String seedJson;
        private boolean cloudEas = true;
        private boolean requestObject = true;
        private Duration sessionTimeout = Duration.ofSeconds(600);
        private Duration idleTimeout = Duration.ofMinutes(5);
        private PrintStream accessLog;

        private Builder() {}

        /** TCP port; 0 (the default) picks a free ephemeral port. */
        public Builder port(int port) {
            if (port < 0 || port > 65535) throw new IllegalArgumentException("port " + port);
            this.port = port;
            return this;
        }

        /** Address to listen on; default 127.0.0.1. */
        public Builder bindAddress(String address) {
            this.bindAddress = Objects.requireNonNull(address, "address");
            return this;
        }

        /** The one WAPI account; default admin / infoblox. */
        public Builder credentials(String username, String password) {
            this.username = Objects.requireNonNull(username, "username");
            this.password = Objects.requireNonNull(password, "password");
            return this;
        }

        /** Serve HTTPS with a self-signed certificate generated at start (see {@link #caCertificatePem()}). */
        public Builder https(boolean https) {
            this.https = https;
            return this;
        }

        /** A JSON file of objects to preload (format in docs/wapi-simulator.md). */
        public Builder seed(Path jsonFile) {
            this.seed = jsonFile;
            return this;
        }

        /** The same as {@link #seed(Path)}, from a string. */
        public Builder seedJson(String json) {
            this.seedJson = json;
            return this;
        }

        /** Whether the cloud EA definitions (VM ID, VM Name, ...) exist at start; default true. */
        public Builder cloudEas(boolean cloudEas) {
            this.cloudEas = cloudEas;
            return this;
        }

        /**
         * Whether WAPI's multiple-request object ({@code POST request}) exists; default true. False
         * answers it as a grid without it would: 400 "Unknown object type (request)".
         */
        public Builder requestObject(boolean requestObject) {
            this.requestObject = requestObject;
            return this;
        }

        /** Idle lifetime of an {@code ibapauth} session; default 600 s, as on a grid. */
        public Builder sessionTimeout(Duration timeout) {
            this.sessionTimeout = Objects.requireNonNull(timeout, "timeout");
            return this;
        }

        /** How long an idle keep-alive connection is kept open; default 5 minutes; zero: forever. */
        public Builder idleTimeout(Duration timeout) {
            this.idleTimeout = Objects.requireNonNull(timeout, "timeout");
            return this;
        }

        /** Prints one line per request (method, path, status; never headers or bodies). */
        public Builder accessLog(PrintStream out) {
            this.accessLog = out;
            return this;
        }

        /** Builds the simulator (state and seed loaded; not listening yet). */
        public WapiSimulator build() {
            return new WapiSimulator(this);
        }
    }

    // ------------------------------------------------------------------ lifecycle

    /** Starts listening; returns this. Throws {@link UncheckedIOException} when the port cannot be bound. */
    public WapiSimulator start() {
        synchronized (lifecycle) {
            if (closed) throw new IllegalStateException("simulator closed");
            if (started) throw new IllegalStateException("simulator already started");
            InetAddress bind;
            try {
                bind = InetAddress.getByName(config.bindAddress);
            } catch (UnknownHostException e) {
                throw new UncheckedIOException("unknown bind address " + config.bindAddress, e);
            }
            SSLContext ssl = null;
            if (config.https) {
                List<String> names = new ArrayList<>();
                if (!bind.isAnyLocalAddress()) names.add(bind.getHostAddress());
                cert = SelfSignedCert.forNames(names);
                ssl = cert.sslContext();
            }
            server = new NettyHttpServer(bind, config.port, ssl, this::handle, config.idleTimeout);
            try {
                server.listen();
            } catch (IOException e) {
                throw new UncheckedIOException("cannot listen on " + config.bindAddress + ":" + config.port, e);
            }
            started = true;
            return this;
        }
    }

    /** Stops listening and closes every connection. Idempotent. */
    @Override
    public void close() {
        synchronized (lifecycle) {
            closed = true;
            faults.shutdown();
            if (server != null) server.close();
            sessions.clear();
        }
    }

    private void switchOutage(boolean on) {
        synchronized (lifecycle) {
            if (server == null || closed) return;
            if (on) {
                server.stopListening();
            } else {
                try {
                    server.listen();
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot listen again on port " + server.port(), e);
                }
            }
        }
    }

    /** e.g. {@code http://127.0.0.1:41234} (no /wapi suffix). */
    public String baseUrl() {
        requireStarted();
        String host = config.bindAddress;
        try {
            InetAddress a = InetAddress.getByName(host);
            if (a.isAnyLocalAddress()) host = a instanceof Inet6Address ? "[::1]" : "127.0.0.1";
            else if (a instanceof Inet6Address) host = "[" + a.getHostAddress() + "]";
            else host = a.getHostAddress();
        } catch (UnknownHostException e) {
            // keep as given
        }
        return (config.https ? "https" : "http") + "://" + host + ":" + server.port();
    }

    /** {@code baseUrl() + "/wapi/v" + version}, e.g. {@code http://127.0.0.1:41234/wapi/v2.5}. */
    public String wapiUrl(String version) {
        return baseUrl() + "/wapi/v" + version;
    }

    public int port() {
        requireStarted();
        return server.port();
    }

    public boolean isHttps() {
        return config.https;
    }

    /** The PEM of the self-signed certificate to trust (https only; the cert is its own CA). */
    public Path caCertificatePem() {
        requireStarted();
        if (cert == null) throw new IllegalStateException("not an https simulator");
        return cert.pem();
    }

    private void requireStarted() {
        synchronized (lifecycle) {
            if (!started) throw new IllegalStateException("simulator not started");
        }
    }

    // ------------------------------------------------------------------ state for tests

    /** Every object of a type with all its fields (incl. _ref), in creation order; a frozen snapshot. */
    public List<Map<String, Object>> objects(String type) {
        return model.snapshot(type);
    }

    /** The object a ref names with all its fields, or null. */
    public Map<String, Object> object(String ref) {
        return model.snapshotOf(ref);
    }

    /** Defines an extensible attribute (type STRING) if it is not defined yet. */
    public void defineEa(String name) {
        model.defineEa(name);
    }

    /** Removes an EA definition and the attribute from every object; false when it was not defined. */
    public boolean removeEa(String name) {
        return model.removeEa(name);
    }

    /** Creates an object as a POST would (same validation; no counters, no faults). Throws {@link WapiError}. */
    public String createObject(String type, Map<String, Object> fields) {
        return (String) model.create(type, new LinkedHashMap<>(fields), ReturnSpec.NONE);
    }

    /** Deletes an object as a DELETE would (children go with it). Throws {@link WapiError}. */
    public String deleteObject(String ref) {
        return model.delete(ref, Map.of());
    }

    public Faults faults() {
        return faults;
    }

    /**
     * Forgets every page id a paged search has handed out: each answers "Invalid page id" from now
     * on, as page ids do once a grid has let them expire. For testing that a client starts its walk
     * again.
     */
    public void expirePageIds() {
        api.expirePageIds();
    }

    // ------------------------------------------------------------------ counters

    /** WAPI calls seen with this method and object type, e.g. ("POST", "fixedaddress"). */
    public long requestCount(String method, String objectType) {
        LongAdder a = counters.get(method.toUpperCase(Locale.ROOT) + " " + objectType);
        return a == null ? 0 : a.sum();
    }

    /** Every WAPI call seen (the /_sim control endpoint is not counted). */
    public long totalRequests() {
        return total.get();
    }

    /** Every counter, keyed "METHOD type", sorted. */
    public Map<String, Long> requestCounts() {
        Map<String, Long> out = new TreeMap<>();
        counters.forEach((k, v) -> out.put(k, v.sum()));
        return out;
    }

    /** Zeroes the request counters, the request log and the accepted-connections count. */
    public void resetCounters() {
        counters.clear();
        total.set(0);
        synchronized (log) {
            log.clear();
        }
        if (server != null) server.resetConnectionsAccepted();
    }

    /** TCP connections accepted since start (or the last {@link #resetCounters()}): shows keep-alive at work. */
    public long connectionsAccepted() {
        return server == null ? 0 : server.connectionsAccepted();
    }

    /** TCP connections open now. */
    public int openConnections() {
        return server == null ? 0 : server.openConnections();
    }

    /** The last WAPI calls, oldest first, as "METHOD /wapi/...?... -> STATUS" (or "-> dropped"). */
    public List<String> requestLog() {
        synchronized (log) {
            return List.copyOf(log);
        }
    }

    // ------------------------------------------------------------------ request path

    private NettyHttpServer.Outcome handle(NettyHttpServer.Request req) {
        String path = req.path();
        if (path.equals("/_sim") || path.startsWith("/_sim/")) return control.handle(req);
        Matcher m = WAPI_PATH.matcher(path);
        if (!m.matches()) {
            return reply(
                    new WapiError(
                            404, "AdmConProtoError: Unknown path " + path, "Client.Ibap.Proto", "Unknown path " + path),
                    List.of());
        }
        String version = m.group(1);
        String rest = m.group(2) == null ? "" : m.group(2);
        String method = req.method().toUpperCase(Locale.ROOT);
        int slash = rest.indexOf('/');
        String type = slash < 0 ? rest : rest.substring(0, slash);
        counters.computeIfAbsent(method + " " + type, k -> new LongAdder()).increment();
        total.incrementAndGet();

        if (faults.holdWhileHung()) return drop(req);
        CallSlots.Entry slot = faults.enterService();
        if (slot == CallSlots.Entry.REFUSED) return drop(req);
        try {
            return serve(req, version, rest, method);
        } finally {
            faults.leaveService(slot);
        }
    }

    /** One WAPI call once it has its service slot: latency, injected faults, authentication, the call. */
    private NettyHttpServer.Outcome serve(NettyHttpServer.Request req, String version, String rest, String method) {
        Duration latency = faults.latency();
        if (!latency.isZero()) {
            try {
                Thread.sleep(latency);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return drop(req);
            }
        }
        if (faults.takeDropBefore(method)) return drop(req);
        Faults.Injected injected = faults.takeFailure(method);
        if (injected != null) return logged(req, injectedReply(injected, List.of()));

        List<Map.Entry<String, String>> headers = new ArrayList<>();
        String session = authenticate(req, headers);
        if (session == null) {
            return logged(req, unauthorized());
        }
        NettyHttpServer.Outcome outcome;
        if (rest.equals("logout") && method.equals("POST")) {
            if (!session.isEmpty()) sessions.remove(session);
            headers.removeIf(h -> h.getKey().equals("Set-Cookie"));
            headers.add(Map.entry("Set-Cookie", COOKIE + "=; Max-Age=0; httponly; Path=/"));
            outcome = json(200, "", headers);
        } else {
            try {
                WapiApi.Result r = api.call(method, version, rest, WapiApi.parseQuery(req.rawQuery()), req.body());
                outcome = json(r.status(), r.json(), headers);
            } catch (WapiError e) {
                outcome = reply(e, headers);
            }
        }
        if (faults.takeDropAfter(method)) return drop(req);
        Faults.Injected afterApplying = faults.takeFailureAfter(method);
        if (afterApplying != null) return logged(req, injectedReply(afterApplying, headers));
        return logged(req, outcome);
    }

    /** A WAPI error with the call's headers, or a gateway's page, which carries none of the grid's. */
    private static NettyHttpServer.Reply injectedReply(Faults.Injected f, List<Map.Entry<String, String>> headers) {
        return f.error() != null ? reply(f.error(), headers) : GatewayPage.reply(f.status());
    }

    /**
     * Checks HTTP Basic (preferred when present) or the ibapauth cookie. Answers the session token in use
     * ("" when Basic succeeded without a session), or null when the call is not authenticated. Adds a
     * Set-Cookie header when Basic succeeded and the client holds no valid session.
     */
    private String authenticate(NettyHttpServer.Request req, List<Map.Entry<String, String>> headers) {
        String cookie = presentedCookie(req);
        long now = System.nanoTime();
        boolean cookieValid = false;
        if (cookie != null) {
            Long expiry = sessions.get(cookie);
            if (expiry != null && expiry - now > 0) {
                cookieValid = true;
            } else if (expiry != null) {
                sessions.remove(cookie);
            }
        }
        String authz = req.header("authorization");
        if (authz != null) {
            if (!basicMatches(authz)) return null;
            if (cookieValid) {
                sessions.put(cookie, now + config.sessionTimeout.toNanos());
                return cookie;
            }
            String token = newToken();
            sessions.put(token, now + config.sessionTimeout.toNanos());
            headers.add(Map.entry(
                    "Set-Cookie", COOKIE + "=" + token + "; httponly; Path=/" + (config.https ? "; secure" : "")));
            return token;
        }
        if (cookieValid) {
            sessions.put(cookie, now + config.sessionTimeout.toNanos());
            return cookie;
        }
        return null;
    }

    private boolean basicMatches(String authz) {
        if (authz.length() < 6 || !authz.substring(0, 6).equalsIgnoreCase("basic ")) return false;
        byte[] decoded;
        try {
            decoded = Base64.getDecoder().decode(authz.substring(6).trim());
        } catch (IllegalArgumentException e) {
            return false;
        }
        int colon = -1;
        for (int i = 0; i < decoded.length; i++) {
            if (decoded[i] == ':') {
                colon = i;
                break;
            }
        }
        if (colon < 0) return false;
        byte[] user = java.util.Arrays.copyOfRange(decoded, 0, colon);
        byte[] pass = java.util.Arrays.copyOfRange(decoded, colon + 1, decoded.length);
        boolean userOk = MessageDigest.isEqual(user, userBytes);
        boolean passOk = MessageDigest.isEqual(pass, passwordBytes);
        java.util.Arrays.fill(decoded, (byte) 0);
        java.util.Arrays.fill(pass, (byte) 0);
        return userOk & passOk;
    }

    private static String presentedCookie(NettyHttpServer.Request req) {
        List<String> values = req.headers().get("cookie");
        if (values == null) return null;
        for (String header : values) {
            for (String part : header.split(";")) {
                String p = part.trim();
                if (p.startsWith(COOKIE + "=")) {
                    String v = p.substring(COOKIE.length() + 1);
                    if (v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"")) v = v.substring(1, v.length() - 1);
                    return v;
                }
            }
        }
        return null;
    }

    private String newToken() {
        byte[] b = new byte[24];
        random.nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    private NettyHttpServer.Outcome drop(NettyHttpServer.Request req) {
        record(req, "dropped");
        return new NettyHttpServer.Drop();
    }

    private NettyHttpServer.Outcome logged(NettyHttpServer.Request req, NettyHttpServer.Outcome o) {
        if (o instanceof NettyHttpServer.Reply r)
            record(req, String.valueOf(r.response().status()));
        return o;
    }

    private void record(NettyHttpServer.Request req, String status) {
        String line = req.method() + " " + req.target() + " -> " + status;
        synchronized (log) {
            log.addLast(line);
            while (log.size() > LOG_CAPACITY) log.removeFirst();
        }
        PrintStream out = config.accessLog;
        if (out != null) out.println(line);
    }

    /** A grid's web server answers 401 with its own HTML page, not a WAPI JSON body. */
    private static NettyHttpServer.Reply unauthorized() {
        String html =
                "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>401 Authorization Required</title>\n"
                        + "</head><body>\n<h1>Authorization Required</h1>\n<p>This server could not verify that you\nare authorized to access "
                        + "the document\nrequested.</p>\n</body></html>\n";
        List<Map.Entry<String, String>> h = List.of(
                Map.entry("Content-Type", "text/html; charset=iso-8859-1"),
                Map.entry("WWW-Authenticate", "Basic realm=\"InfoBlox ONE Platform\""));
        return new NettyHttpServer.Reply(
                new NettyHttpServer.Response(401, h, html.getBytes(StandardCharsets.ISO_8859_1)), null);
    }

    static NettyHttpServer.Reply reply(WapiError e, List<Map.Entry<String, String>> headers) {
        return json(e.status(), e.body(), headers);
    }

    static NettyHttpServer.Reply json(int status, Object body, List<Map.Entry<String, String>> headers) {
        List<Map.Entry<String, String>> h = new ArrayList<>(headers);
        h.addFirst(Map.entry("Content-Type", "application/json"));
        return new NettyHttpServer.Reply(new NettyHttpServer.Response(status, h, Json.bytes(body)), null);
    }

    // ------------------------------------------------------------------ for the control endpoint

    WapiModel model() {
        return model;
    }
}
