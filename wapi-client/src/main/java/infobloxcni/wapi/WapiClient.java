package infobloxcni.wapi;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.resilience4j.core.IntervalFunction;
import io.github.resilience4j.retry.Retry;
import io.github.resilience4j.retry.RetryConfig;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLException;
import javax.net.ssl.X509TrustManager;
import okhttp3.Call;
import okhttp3.ConnectionPool;
import okhttp3.Cookie;
import okhttp3.Credentials;
import okhttp3.EventListener;
import okhttp3.HttpUrl;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okhttp3.ResponseBody;

/**
 * A typed client for the few WAPI calls an IPAM driver needs. One instance per grid, shared by
 * all threads: it holds the warm connection pool and the {@code ibapauth} session.
 *
 * <p>Retries are deliberately narrow: up to three attempts in all, with backoff and jitter, inside
 * the caller's deadline and not while the grid is known down; only after a broken connection or a
 * 5xx (never after a timeout), and only when repeating cannot change the grid twice: reads, and
 * POSTs that certainly never left this host. A write that may have arrived (a reset, a timeout,
 * any 5xx after it was sent) surfaces as
 * {@link WapiException.Transient} with {@code mayHaveBeenApplied} set, and the caller (who knows
 * what it was trying to do) looks before it writes again. Fixed addresses are changed or deleted
 * only through {@link #deleteFixedAddressIf} and {@link #updateFixedAddressIf}, which prove that
 * the object is still the claimant's first ({@link ConditionalWrites}): there is no write by a
 * remembered ref.
 */
public final class WapiClient implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(WapiClient.class.getName());
    private static final MediaType JSON = MediaType.get("application/json");
    private static final Pattern NETWORK_FULL = Pattern.compile("Cannot find \\d+ available IP address");
    private static final String SESSION_COOKIE = "ibapauth";
    /** {@code <type>/<opaque>[:<readable>]}; the opaque part is base64 of the object's key. */
    private static final Pattern REF =
            Pattern.compile("([a-z][a-z0-9:_]*)/([A-Za-z0-9+/=_-]+)(?::(.*))?", Pattern.DOTALL);

    /** Results per page of a search (the largest page size clients are known to use with grids). */
    static final int PAGE_SIZE = 1000;
    /** A search is never followed beyond this many pages: a grid that keeps answering pages is broken. */
    static final int MAX_PAGES = 1000;

    /** A WAPI answer is a list of objects with EAs: a few levels deep. */
    static final int MAX_NESTING = 64;

    static final String FIXED_ADDRESS_FIELDS = "ipv4addr,mac,name,comment,network,network_view,match_client,extattrs";
    static final String NETWORK_FIELDS = "network,network_view,extattrs";
    static final String VIEW_FIELDS = "name,extattrs";

    private final WapiConfig config;
    private final HttpUrl base;
    /**
     * Built on the first call ({@link #http()}), not in the constructor: its TLS set-up (the JDK's
     * trust store, parsed) is a quarter of the daemon's start-up CPU, and the daemon binds its
     * socket first and makes its first call (the start-up look at the grid) on a thread of its own.
     */
    private final OkHttpClient.Builder httpBuilder;

    private volatile OkHttpClient http;
    /** Parses answers within {@link #maxAnswerBytes} ({@link #answerParser}); also builds request bodies. */
    private final ObjectMapper json;

    private final int maxAnswerBytes;
    private final String basicAuth;
    private final Retry retry;
    private final GridHealth health;
    private final long probeTimeoutNanos;
    /** A retry is worth its backoff only with this much of the deadline left. */
    private static final long RETRY_NEEDS_NANOS = TimeUnit.MILLISECONDS.toNanos(300);

    private final ConditionalWrites conditional = new ConditionalWrites(this);
    private volatile String sessionCookie;
    private volatile long lastAnswerNanos = System.nanoTime();
    private final java.util.List<WapiCall.Observer> observers = new java.util.concurrent.CopyOnWriteArrayList<>();
    /** Shorter than common keep-alive timeouts of web servers (Apache's default is 5 s). */
    private static final long IDLE_BEFORE_FRESH_POST_NANOS = TimeUnit.SECONDS.toNanos(2);

    public WapiClient(WapiConfig config) {
        this(config, GridHealth.Settings.forTimeouts(config.readTimeout(), config.callTimeout()));
    }

    public WapiClient(WapiConfig config, GridHealth.Settings healthSettings) {
        this.maxAnswerBytes = config.maxAnswerBytes();
        this.json = answerParser(maxAnswerBytes);
        this.config = config;
        this.health = new GridHealth(healthSettings);
        this.probeTimeoutNanos = healthSettings.probeTimeout().toNanos();
        this.base = HttpUrl.get(config.baseUrl());
        this.basicAuth = Credentials.basic(config.username(), config.password());
        OkHttpClient.Builder builder = new OkHttpClient.Builder()
                .connectTimeout(config.connectTimeout())
                .readTimeout(config.readTimeout())
                .writeTimeout(config.readTimeout())
                .callTimeout(config.callTimeout())
                // okhttp would silently re-send a POST on a dropped connection: that is how a
                // lost response becomes a duplicate allocation. We decide about retries ourselves.
                .retryOnConnectionFailure(false)
                .followRedirects(false)
                .connectionPool(new ConnectionPool(16, 2, TimeUnit.MINUTES))
                .eventListenerFactory(
                        call -> new SendTracker.Listener(call.request().tag(SendTracker.class)))
                .addInterceptor(this::authenticate);
        X509TrustManager trust = config.sslVerify().trustManager();
        if (trust != null) {
            builder.sslSocketFactory(SslVerify.sslContext(trust).getSocketFactory(), trust);
            if (config.sslVerify() instanceof SslVerify.Disabled) builder.hostnameVerifier((host, session) -> true);
        }
        this.httpBuilder = builder;
        // Reads (and POSTs that never left) are repeated with backoff and jitter, inside the
        // caller's deadline, and not once the grid is known to be down.
        this.retry = Retry.of(
                "wapi",
                RetryConfig.custom()
                        .maxAttempts(3)
                        .intervalFunction(IntervalFunction.ofExponentialRandomBackoff(Duration.ofMillis(100), 2.0, 0.5))
                        .retryOnException(e -> e instanceof RetryableFailure
                                && Deadline.remainingNanos() > RETRY_NEEDS_NANOS
                                && !health.failingFast())
                        .build());
        // Connections of before an outage are dead; the first call after it must not find out the hard way.
        health.onChange(change -> {
            if (change.from() == GridHealth.State.DOWN) evictConnections();
        });
    }

    /**
     * Jackson with bounds on what one answer may cost besides its size: nesting, tokens (parsing
     * costs memory per token far more than per byte: {@code [0,0,...]} is a node per two bytes) and
     * string length.
     */
    static ObjectMapper answerParser(int maxAnswerBytes) {
        return new ObjectMapper(JsonFactory.builder()
                .streamReadConstraints(StreamReadConstraints.builder()
                        .maxDocumentLength(maxAnswerBytes)
                        .maxNestingDepth(MAX_NESTING)
                        .maxTokenCount(maxAnswerBytes / 8)
                        .maxStringLength(maxAnswerBytes)
                        .build())
                .build());
    }

    /** The answer's bytes, or null when there are more than {@link #maxAnswerBytes} (a declared length says so unread). */
    private byte[] readBounded(ResponseBody body) throws IOException {
        if (body == null) return new byte[0];
        if (body.contentLength() > maxAnswerBytes) return null;
        byte[] bytes = body.byteStream().readNBytes(maxAnswerBytes + 1);
        return bytes.length > maxAnswerBytes ? null : bytes;
    }

    private OkHttpClient http() {
        OkHttpClient client = http;
        if (client != null) return client;
        synchronized (httpBuilder) {
            if (http == null) http = httpBuilder.build();
            return http;
        }
    }

    /** Drops the pooled connections (none before the first call). */
    private void evictConnections() {
        OkHttpClient client = http;
        if (client != null) client.connectionPool().evictAll();
    }

    /** The grid's health as this client sees it. */
    public GridHealth health() {
        return health;
    }

    /** Tells {@code observer} of every call from now on, on the calling thread. */
    public void observeCalls(WapiCall.Observer observer) {
        observers.add(observer);
    }

    private void tell(String method, HttpUrl url, WapiCall.Outcome outcome, int status, long started) {
        if (observers.isEmpty()) return;
        WapiCall call = new WapiCall(method, objectTypeOf(url), outcome, status, System.nanoTime() - started);
        for (WapiCall.Observer o : observers) {
            try {
                o.called(call);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "a WAPI call observer failed: {0}", e.toString());
            }
        }
    }

    /** The first path segment after the WAPI base: the object type, never a ref's key. */
    private String objectTypeOf(HttpUrl url) {
        List<String> segments = url.pathSegments();
        int first = base.pathSegments().size() - (base.encodedPath().endsWith("/") ? 1 : 0);
        return first < segments.size() ? segments.get(first) : "";
    }

    /** Starts the probe and the watch for hung calls (the daemon does; one-shot tools need not). */
    public void startHealthMonitoring() {
        health.startMonitoring(this::probeHealth);
    }

    /** The probe: light, bounded by its own timeout, sent even while the grid is down. */
    private void probeHealth() {
        try {
            send("GET", probeUrl(), null, true);
            health.probed(true);
        } catch (WapiException e) {
            health.probed(!(e instanceof WapiException.Transient));
        } catch (RetryableFailure e) {
            health.probed(false);
        }
    }

    private HttpUrl probeUrl() {
        return base.newBuilder()
                .addPathSegment("networkview")
                .addQueryParameter("_max_results", "1")
                .addQueryParameter("_return_fields", "name")
                .build();
    }

    public WapiConfig config() {
        return config;
    }

    // ---------------------------------------------------------------- network views

    public Optional<NetworkView> getNetworkView(String name) {
        return first(get("networkview", Map.of("name", name), VIEW_FIELDS)).map(WapiClient::toView);
    }

    public NetworkView createNetworkView(String name, Map<String, String> extattrs) {
        ObjectNode body = json.createObjectNode().put("name", name);
        if (!extattrs.isEmpty()) body.set("extattrs", Extattrs.toJson(extattrs));
        return toView(create("networkview", body, VIEW_FIELDS));
    }

    // ---------------------------------------------------------------- networks

    public Optional<Network> getNetwork(String view, String cidr) {
        return first(get("network", viewAnd(view, "network", cidr), NETWORK_FIELDS))
                .map(WapiClient::toNetwork);
    }

    public List<Network> findNetworksByEa(String view, String eaName, String value) {
        return get("network", viewAnd(view, "*" + eaName, value), NETWORK_FIELDS).stream()
                .map(WapiClient::toNetwork)
                .toList();
    }

    public Network createNetwork(String view, String cidr, Map<String, String> extattrs) {
        return toNetwork(create("network", networkBody(view, cidr, extattrs), NETWORK_FIELDS));
    }

    /** Carves the lowest free {@code /prefixLength} out of a network container, in one call. */
    public Network createNextAvailableNetwork(
            String view, String containerCidr, int prefixLength, Map<String, String> extattrs) {
        String function = "func:nextavailablenetwork:" + containerCidr + "," + view + "," + prefixLength;
        return toNetwork(create("network", networkBody(view, function, extattrs), NETWORK_FIELDS));
    }

    public Optional<Network> getNetworkContainer(String view, String cidr) {
        return first(get("networkcontainer", viewAnd(view, "network", cidr), NETWORK_FIELDS))
                .map(WapiClient::toNetwork);
    }

    public Network createNetworkContainer(String view, String cidr, Map<String, String> extattrs) {
        return toNetwork(create("networkcontainer", networkBody(view, cidr, extattrs), NETWORK_FIELDS));
    }

    // ---------------------------------------------------------------- fixed addresses

    /**
     * Reserves the lowest free address of {@code cidr} in one round trip: the reply carries the
     * new object, address included. A lost reply means the reservation may exist: search it by
     * its EAs before asking again.
     */
    public FixedAddress reserveNextAvailableIp(String view, String cidr, FixedAddressSpec spec) {
        return reserve(view, "func:nextavailableip:" + cidr + "," + view, spec);
    }

    /** Reserves one given address (e.g. a gateway, with {@code match_client} RESERVED). */
    public FixedAddress reserveAddress(String view, String ipv4addr, FixedAddressSpec spec) {
        return reserve(view, ipv4addr, spec);
    }

    private FixedAddress reserve(String view, String ipv4addr, FixedAddressSpec spec) {
        ObjectNode body = json.createObjectNode().put("ipv4addr", ipv4addr).put("network_view", view);
        body.put("mac", spec.mac() == null ? FixedAddressSpec.NO_MAC : spec.mac());
        putIfPresent(body, "name", spec.name());
        putIfPresent(body, "comment", spec.comment());
        putIfPresent(body, "match_client", spec.matchClient());
        if (!spec.extattrs().isEmpty()) body.set("extattrs", Extattrs.toJson(spec.extattrs()));
        return toFixedAddress(create("fixedaddress", body, FIXED_ADDRESS_FIELDS));
    }

    /**
     * Searches fixed addresses. {@code fields} are exact-match search fields ({@code ipv4addr},
     * {@code mac}, {@code network}, or {@code comment~} for a regular expression); {@code eas}
     * match extensible attributes. A null view searches every view.
     */
    public List<FixedAddress> findFixedAddresses(String view, Map<String, String> fields, Map<String, String> eas) {
        Map<String, String> query = new LinkedHashMap<>();
        if (view != null) query.put("network_view", view);
        query.putAll(fields);
        eas.forEach((name, value) -> query.put("*" + name, value));
        return get("fixedaddress", query, FIXED_ADDRESS_FIELDS).stream()
                .map(WapiClient::toFixedAddress)
                .toList();
    }

    public List<FixedAddress> findFixedAddressesByEa(String view, String eaName, String value) {
        return findFixedAddresses(view, Map.of(), Map.of(eaName, value));
    }

    public Optional<FixedAddress> findFixedAddressByIp(String view, String ipv4addr) {
        return findFixedAddresses(view, Map.of("ipv4addr", ipv4addr), Map.of()).stream()
                .findFirst();
    }

    /**
     * Reads the object a ref names <em>now</em>. A ref names a key (IP and view), so a ref kept
     * from earlier may name another holder's reservation today: check what comes back.
     */
    public Optional<FixedAddress> getFixedAddress(String ref) {
        try {
            return Optional.of(toFixedAddress(execute(
                    "GET",
                    refUrl(ref)
                            .addQueryParameter("_return_fields", FIXED_ADDRESS_FIELDS)
                            .build(),
                    null)));
        } catch (WapiException.NotFound e) {
            return Optional.empty();
        }
    }

    /**
     * Deletes the fixed address at {@code ipv4addr} in {@code view}, only if what the grid holds
     * there now matches one of {@code claims}; otherwise touches nothing and says what it found.
     * See {@link ConditionalWrites} for how the check and the write are kept to one step.
     */
    public VerifiedWrite deleteFixedAddressIf(String view, String ipv4addr, List<ReservationClaim> claims) {
        return deleteFixedAddressIf(view, ipv4addr, claims, null);
    }

    /**
     * As {@link #deleteFixedAddressIf(String, String, List)}, where {@code seen} is what a search
     * returned for that address a moment ago: it stands in for the first look.
     */
    public VerifiedWrite deleteFixedAddressIf(
            String view, String ipv4addr, List<ReservationClaim> claims, FixedAddress seen) {
        return conditional.write(view, ipv4addr, claims, seen, ConditionalWrites.Write.delete());
    }

    /**
     * Updates mac, name, comment and merges EAs into the fixed address at {@code ipv4addr} in
     * {@code view}, only if what it holds now matches one of {@code claims} (see
     * {@link #deleteFixedAddressIf}). An object that already carries the changes counts as written.
     */
    public VerifiedWrite updateFixedAddressIf(
            String view, String ipv4addr, List<ReservationClaim> claims, FixedAddressSpec changes) {
        return updateFixedAddressIf(view, ipv4addr, claims, changes, List.of());
    }

    /** As {@link #updateFixedAddressIf(String, String, List, FixedAddressSpec)}, also removing the EAs named. */
    public VerifiedWrite updateFixedAddressIf(
            String view,
            String ipv4addr,
            List<ReservationClaim> claims,
            FixedAddressSpec changes,
            Collection<String> removeEas) {
        ObjectNode body = json.createObjectNode();
        putIfPresent(body, "mac", changes.mac());
        putIfPresent(body, "name", changes.name());
        putIfPresent(body, "comment", changes.comment());
        putIfPresent(body, "match_client", changes.matchClient());
        if (!changes.extattrs().isEmpty()) body.set("extattrs+", Extattrs.toJson(changes.extattrs()));
        if (!removeEas.isEmpty()) {
            ObjectNode remove = body.putObject("extattrs-");
            removeEas.forEach(remove::putObject);
        }
        return conditional.write(
                view,
                ipv4addr,
                claims,
                null,
                ConditionalWrites.Write.update(
                        body,
                        holder -> carries(holder, changes)
                                && removeEas.stream().noneMatch(holder.extattrs()::containsKey)));
    }

    private static boolean carries(FixedAddress r, FixedAddressSpec changes) {
        if (changes.mac() != null && !changes.mac().equalsIgnoreCase(String.valueOf(r.mac()))) return false;
        if (changes.name() != null && !changes.name().equals(r.name() == null ? "" : r.name())) return false;
        if (changes.comment() != null && !changes.comment().equals(r.comment())) return false;
        for (Map.Entry<String, String> e : changes.extattrs().entrySet()) {
            if (!e.getValue().equals(r.ea(e.getKey()))) return false;
        }
        return true;
    }

    /**
     * Deletes the network {@code cidr} of {@code view}, only if it still carries EA
     * {@code eaName} = {@code eaValue} and holds no fixed address (a network we carved and lost a
     * race for). Returns whether it deleted.
     */
    public boolean deleteEmptyNetworkIf(String view, String cidr, String eaName, String eaValue) {
        Optional<Network> now = getNetwork(view, cidr);
        if (now.isEmpty() || !eaValue.equals(now.get().extattrs().get(eaName))) return false;
        if (!findFixedAddresses(view, Map.of("network", cidr), Map.of()).isEmpty()) return false;
        try {
            // once, never repeated blind: a DELETE that arrived frees the key for someone else
            unwrapped(() -> executeOnce("DELETE", refUrl(now.get().ref()).build(), null));
            return true;
        } catch (WapiException.NotFound gone) {
            return false;
        }
    }

    // ---------------------------------------------------------------- EA definitions, health

    /** Which of these extensible attributes are not defined on the grid, in the given order. */
    public Set<String> missingEaDefinitions(Collection<String> names) {
        Set<String> defined = new LinkedHashSet<>();
        for (JsonNode def : get("extensibleattributedef", Map.of(), "name"))
            defined.add(def.path("name").asText());
        Set<String> missing = new LinkedHashSet<>(names);
        missing.removeAll(defined);
        return missing;
    }

    /** Cheapest call that proves the grid is reachable and accepts our credentials. */
    public void probe() {
        execute("GET", probeUrl(), null);
    }

    @Override
    public void close() {
        String cookie = sessionCookie;
        if (cookie != null) {
            try {
                execute("POST", base.newBuilder().addPathSegment("logout").build(), json.createObjectNode());
            } catch (WapiException e) {
                LOG.log(System.Logger.Level.DEBUG, "logout failed: {0}", e.getMessage());
            }
        }
        health.close();
        OkHttpClient client = http;
        if (client != null) {
            client.dispatcher().executorService().shutdown();
            client.connectionPool().evictAll();
        }
    }

    // ---------------------------------------------------------------- plumbing

    /**
     * A search, every result of it, page by page: without paging a grid refuses more than 1000
     * results ("Result set too large (> 1000)"), and a positive {@code _max_results} truncates
     * silently, so a host with more reservations than any fixed limit would lose some from view.
     * Each page is one call ({@code _paging=1&_return_as_object=1&_max_results=}{@value #PAGE_SIZE},
     * then {@code _page_id}); the pages of one search run under the caller's deadline.
     */
    private List<JsonNode> get(String type, Map<String, String> query, String returnFields) {
        HttpUrl.Builder first = base.newBuilder().addPathSegment(type);
        query.forEach(first::addQueryParameter);
        first.addQueryParameter("_return_fields", returnFields);
        first.addQueryParameter("_paging", "1");
        first.addQueryParameter("_return_as_object", "1");
        first.addQueryParameter("_max_results", String.valueOf(PAGE_SIZE));
        List<JsonNode> out = new ArrayList<>();
        HttpUrl url = first.build();
        boolean restarted = false;
        for (int page = 1; ; page++) {
            JsonNode answer;
            try {
                answer = execute("GET", url, null);
            } catch (WapiException.Rejected expired) {
                // Page ids expire on a grid: a walk that outlived its id starts again, once.
                if (restarted
                        || page == 1
                        || expired.gridText() == null
                        || !expired.gridText().contains("page id")) throw expired;
                restarted = true;
                out.clear();
                page = 0;
                url = first.build();
                continue;
            }
            if (answer.isArray()) { // a server that ignores _return_as_object answers the plain list: all of it
                answer.forEach(out::add);
                return out;
            }
            JsonNode result = answer.path("result");
            if (!answer.isObject() || !result.isArray())
                throw malformed("GET", type, "expected {\"result\": [...]}, got " + answer.getNodeType(), false);
            result.forEach(out::add);
            JsonNode next = answer.get("next_page_id");
            if (next == null || next.isNull() || next.asText().isEmpty()) return out;
            if (page >= MAX_PAGES)
                throw malformed("GET", type, "more than " + MAX_PAGES + " pages of " + PAGE_SIZE + " results", false);
            url = base.newBuilder()
                    .addPathSegment(type)
                    .addQueryParameter("_page_id", next.asText())
                    .build();
        }
    }

    private JsonNode create(String type, ObjectNode body, String returnFields) {
        HttpUrl url = base.newBuilder()
                .addPathSegment(type)
                .addQueryParameter("_return_fields", returnFields)
                .build();
        JsonNode result = execute("POST", url, body);
        if (!result.isObject() || !result.hasNonNull("_ref")) {
            throw malformed("POST", type, "expected the created object, got " + abbreviate(result.toString()), true);
        }
        return result;
    }

    /**
     * The URL of a ref as the grid wrote it, {@code <type>/<opaque>:<readable>}. The readable part
     * (IP, names) is whatever the grid put there, so it is encoded, never interpreted: a view
     * named {@code cni_view?x=1} must not turn into a query. A readable segment that is {@code .}
     * or {@code ..} cannot travel in a URL path at all (it would be resolved away), so then only
     * the type and the opaque part, which identify the object, are sent.
     */
    HttpUrl.Builder refUrl(String ref) {
        Matcher m = ref == null ? null : REF.matcher(ref);
        if (m == null || !m.matches()) throw new IllegalArgumentException("not a WAPI object reference: " + ref);
        HttpUrl.Builder url = base.newBuilder().addPathSegment(m.group(1));
        String readable = m.group(3);
        boolean dotSegment = readable != null
                && List.of(readable.split("/", -1)).stream()
                        .map(segment -> segment.replace("%2e", ".").replace("%2E", "."))
                        .anyMatch(segment -> segment.equals(".") || segment.equals(".."));
        if (readable == null || dotSegment) return url.addEncodedPathSegments(m.group(2));
        return url.addEncodedPathSegments(m.group(2) + ":" + readable);
    }

    private Map<String, String> viewAnd(String view, String field, String value) {
        Map<String, String> query = new LinkedHashMap<>();
        if (view != null) query.put("network_view", view);
        query.put(field, value);
        return query;
    }

    private ObjectNode networkBody(String view, String network, Map<String, String> extattrs) {
        ObjectNode body = json.createObjectNode().put("network", network).put("network_view", view);
        if (!extattrs.isEmpty()) body.set("extattrs", Extattrs.toJson(extattrs));
        return body;
    }

    private JsonNode execute(String method, HttpUrl url, JsonNode body) {
        return unwrapped(() -> retry.executeSupplier(() -> executeOnce(method, url, body)));
    }

    private static JsonNode unwrapped(java.util.function.Supplier<JsonNode> call) {
        try {
            return call.get();
        } catch (RetryableFailure e) {
            throw e.failure;
        }
    }

    /** The URL of a top-level WAPI object type, e.g. {@code request}. */
    HttpUrl objectUrl(String type) {
        return base.newBuilder().addPathSegment(type).build();
    }

    /** One call, never repeated here; a failure that is safe to repeat comes as {@link RetryableFailure}. */
    JsonNode executeOnce(String method, HttpUrl url, JsonNode body) {
        return send(method, url, body, false);
    }

    /**
     * One call, bounded by the smaller of the call timeout and the caller's {@link Deadline};
     * refused at once (never sent) while the grid is down, unless it is the probe. Its outcome
     * tells {@link GridHealth} about the grid.
     */
    private JsonNode send(String method, HttpUrl url, JsonNode body, boolean probe) {
        String what = method + " " + describe(url);
        long started = System.nanoTime();
        long left = Deadline.remainingNanos();
        if (left <= 0) {
            tell(method, url, WapiCall.Outcome.NOT_SENT, 0, started);
            throw new WapiException.Transient(
                    what + ": not sent: the request's time for the grid ran out", 0, null, null, false, null);
        }
        GridHealth.Ticket ticket;
        try {
            ticket = probe ? health.admitProbe() : health.admit(what);
        } catch (WapiException refusedAtOnce) {
            tell(method, url, WapiCall.Outcome.NOT_SENT, 0, started);
            throw refusedAtOnce;
        }
        if (method.equals("POST") && System.nanoTime() - lastAnswerNanos > IDLE_BEFORE_FRESH_POST_NANOS) {
            // A grid (or a balancer in front of it) closes idle keep-alive connections after a few
            // seconds, and okhttp only checks connections idle for more than 10 s. A POST sent on
            // such a connection fails in a way that looks like "may have been applied", so after a
            // quiet spell a POST gets a fresh connection. Busy periods keep theirs warm.
            evictConnections();
        }
        SendTracker tracker = new SendTracker();
        RequestBody requestBody = body == null ? null : RequestBody.create(body.toString(), JSON);
        Request request = new Request.Builder()
                .url(url)
                .method(method, requestBody)
                .tag(SendTracker.class, tracker)
                .header("Accept", "application/json")
                .build();
        Call call = http().newCall(request);
        long ownTimeout = probe ? probeTimeoutNanos : config.callTimeout().toNanos();
        // Cut short by the request's own deadline, a call that ends unanswered says nothing about
        // the grid: a grid is down only when it leaves a call unanswered for the call's whole timeout.
        boolean cutByDeadline = left < ownTimeout;
        call.timeout().timeout(Math.min(ownTimeout, left), TimeUnit.NANOSECONDS);
        try (Response response = call.execute()) {
            byte[] answer = readBounded(response.body());
            if (answer == null) call.cancel(); // nothing more is read: no draining the rest on close
            String text = answer == null
                    ? "an answer larger than " + maxAnswerBytes
                            + " bytes, the most the daemon reads (--wapi-max-answer-bytes); not read"
                    : response.isSuccessful() ? "" : new String(answer, StandardCharsets.UTF_8);
            lastAnswerNanos = System.nanoTime();
            LOG.log(
                    System.Logger.Level.DEBUG,
                    "{0} -> {1} in {2} ms",
                    what,
                    response.code(),
                    String.valueOf((System.nanoTime() - started) / 1_000_000));
            tell(method, url, WapiCall.outcomeOf(response.code()), response.code(), started);
            // a 4xx (408 and 429 included) is an answer: only a 5xx counts against the grid
            boolean gridFailed = response.code() >= 500;
            if (gridFailed) ticket.failed(new IOException(what + " -> HTTP " + response.code()));
            else ticket.answered();
            if (!response.isSuccessful()) {
                WapiException refused = failure(method, what, response.code(), text);
                // A read the grid failed to answer may be repeated like one whose connection broke.
                if (method.equals("GET") && refused instanceof WapiException.Transient t) throw new RetryableFailure(t);
                throw refused;
            }
            if (answer == null) throw malformed(method, describe(url), text, !method.equals("GET"));
            try {
                return answer.length == 0 ? NullNode.getInstance() : json.readTree(answer);
            } catch (IOException e) {
                String start = new String(answer, 0, Math.min(answer.length, 300), StandardCharsets.UTF_8);
                throw malformed(
                        method,
                        describe(url),
                        "unreadable JSON body ("
                                + (e instanceof com.fasterxml.jackson.core.JsonProcessingException j
                                        ? j.getOriginalMessage()
                                        : e.getMessage())
                                + "): " + abbreviate(start),
                        !method.equals("GET"));
            }
        } catch (IOException e) {
            tell(method, url, WapiCall.Outcome.UNREACHABLE, 0, started);
            if (cutByDeadline && isCallTimeout(e)) {
                ticket.abandoned();
                health.suspect(); // the probe, with the grid's whole call timeout, tells whether it answers
            } else if (e instanceof InterruptedIOException && !probe) {
                ticket.unanswered(e); // silent for as long as the grid may take: down
            } else {
                ticket.failed(e);
            }
            // One broken connection usually means the others in the pool are broken too (grid
            // restarted, load balancer flushed): start the next call on fresh ones.
            evictConnections();
            WapiException.Transient failure = ioFailure(method, what, e, tracker.sent);
            // A GET may be repeated at once; a POST creates, so only if it never left. A PUT or
            // DELETE goes by ref, and a ref names a key: one that did arrive may have freed the key
            // for someone else. Whoever repeats those must look first: ConditionalWrites does, and
            // nothing else sends them.
            boolean idempotent = !method.equals("POST");
            boolean safeToRepeat =
                    (idempotent || !failure.mayHaveBeenApplied()) && !(e instanceof InterruptedIOException);
            if (safeToRepeat) throw new RetryableFailure(failure);
            throw failure;
        }
    }

    /** okhttp's whole-call timeout (not a connect or read timeout, which are the grid's own silence). */
    private static boolean isCallTimeout(IOException e) {
        return e instanceof InterruptedIOException && !(e instanceof java.net.SocketTimeoutException);
    }

    private static WapiException.Transient ioFailure(String method, String what, IOException e, boolean sent) {
        boolean neverSent = !sent
                || e instanceof ConnectException
                || e instanceof UnknownHostException
                || e instanceof NoRouteToHostException
                || e instanceof SSLException;
        boolean mayHaveBeenApplied = !method.equals("GET") && !neverSent;
        String reason = e instanceof SSLException
                ? "TLS handshake failed (is the grid's certificate trusted? see --ssl-verify): " + e.getMessage()
                : e instanceof InterruptedIOException
                        ? "no answer in time (" + e.getMessage() + ")"
                        : e.getClass().getSimpleName() + ": " + e.getMessage();
        String suffix = mayHaveBeenApplied ? "; the request may have been applied" : "";
        return new WapiException.Transient(
                what + ": grid unreachable: " + reason + suffix, 0, null, null, mayHaveBeenApplied, e);
    }

    private WapiException failure(String method, String what, int status, String body) {
        String code = null;
        String text = null;
        try {
            JsonNode error = json.readTree(body);
            if (error != null && error.isObject()) {
                code = error.path("code").isMissingNode()
                        ? null
                        : error.path("code").asText();
                text = error.path("text").isMissingNode()
                        ? null
                        : error.path("text").asText();
                if (text == null && error.hasNonNull("Error"))
                    text = error.get("Error").asText();
            }
        } catch (IOException ignored) {
            // not JSON: keep the raw body below
        }
        if (text == null) text = abbreviate(body.isBlank() ? "HTTP " + status : body);
        String message = what + ": " + text;
        if (status == 401)
            return new WapiException.AuthenticationFailed(
                    what + ": authentication failed (check --wapi-username and the password)", status, code, text);
        if (status == 404 || (code != null && code.contains("NotFound")))
            return new WapiException.NotFound(message, status, code, text);
        if (NETWORK_FULL.matcher(text).find()) return new WapiException.NetworkFull(message, status, code, text);
        if (code != null && code.contains("Conflict")) return new WapiException.Conflict(message, status, code, text);
        if (status >= 500) {
            // The grid (or the balancer or proxy in front of it) answered but failed. A 502, 503 or
            // 504 may come after the grid committed the write: from a balancer whose upstream
            // answered too late, or from a grid under load. So a write may or may not have been
            // applied, whatever the status says: the caller looks before it writes again.
            return new WapiException.Transient(message, status, code, text, !method.equals("GET"), null);
        }
        if (status == 408 || status == 429) {
            // A 4xx is a refusal before the work: "try later", nothing applied.
            return new WapiException.Transient(message, status, code, text, false, null);
        }
        return new WapiException.Rejected(message, status, code, text);
    }

    private static WapiException.Transient malformed(
            String method, String what, String detail, boolean mayHaveBeenApplied) {
        return new WapiException.Transient(
                method + " " + what + ": malformed answer from grid: " + detail,
                200,
                null,
                null,
                mayHaveBeenApplied && !method.equals("GET"),
                null);
    }

    /** Sends the session cookie when we have one; falls back to Basic auth when it expired. */
    private Response authenticate(okhttp3.Interceptor.Chain chain) throws IOException {
        Request original = chain.request();
        String cookie = sessionCookie;
        if (cookie != null) {
            Response response = chain.proceed(original.newBuilder()
                    .header("Cookie", SESSION_COOKIE + "=" + cookie)
                    .build());
            if (response.code() != 401) return remember(response);
            response.close();
            sessionCookie = null;
        }
        return remember(chain.proceed(
                original.newBuilder().header("Authorization", basicAuth).build()));
    }

    private Response remember(Response response) {
        for (Cookie c : Cookie.parseAll(response.request().url(), response.headers())) {
            if (c.name().equals(SESSION_COOKIE)) sessionCookie = c.value();
        }
        if (response.request().url().encodedPath().endsWith("/logout")) sessionCookie = null;
        return response;
    }

    private String describe(HttpUrl url) {
        String path = url.encodedPath().substring(base.encodedPath().length());
        String query = url.query();
        return query == null ? path : path + "?" + query;
    }

    private static void putIfPresent(ObjectNode node, String field, String value) {
        if (value != null) node.put(field, value);
    }

    private static Optional<JsonNode> first(List<JsonNode> results) {
        return results.stream().findFirst();
    }

    private static String abbreviate(String s) {
        return s.length() <= 300 ? s : s.substring(0, 300) + "...";
    }

    private static String text(JsonNode node, String field) {
        JsonNode value = node.get(field);
        return value == null || value.isNull() ? null : value.asText();
    }

    private static NetworkView toView(JsonNode node) {
        return new NetworkView(text(node, "_ref"), text(node, "name"), Extattrs.fromJson(node.get("extattrs")));
    }

    private static Network toNetwork(JsonNode node) {
        return new Network(
                text(node, "_ref"),
                text(node, "network"),
                text(node, "network_view"),
                Extattrs.fromJson(node.get("extattrs")));
    }

    static FixedAddress toFixedAddress(JsonNode node) {
        return new FixedAddress(
                text(node, "_ref"),
                text(node, "ipv4addr"),
                text(node, "mac"),
                text(node, "name"),
                text(node, "comment"),
                text(node, "network"),
                text(node, "network_view"),
                text(node, "match_client"),
                Extattrs.fromJson(node.get("extattrs")));
    }

    /** Marks a failure that is safe to repeat; unwrapped before it leaves this package. */
    static final class RetryableFailure extends RuntimeException {
        final WapiException.Transient failure;

        RetryableFailure(WapiException.Transient failure) {
            super(failure.getMessage(), null, false, false);
            this.failure = failure;
        }
    }

    /** Remembers whether okhttp started writing the request, i.e. whether the grid may have seen it. */
    private static final class SendTracker {
        volatile boolean sent;

        static final class Listener extends EventListener {
            private final SendTracker tracker;

            Listener(SendTracker tracker) {
                this.tracker = tracker;
            }

            @Override
            public void requestHeadersStart(Call call) {
                if (tracker != null) tracker.sent = true;
            }
        }
    }
}
