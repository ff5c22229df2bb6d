package infobloxcni.wapi;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.NullNode;
import io.github.resilience4j.core.IntervalFunction;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.X509TrustManager;
import okhttp3.Call;
import okhttp3.ConnectionPool;
import okhttp3.EventListener;
import okhttp3.HttpUrl;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okhttp3.ResponseBody;

/**
 * The way to the grid, and the one place calls are sent: okhttp (a warm connection pool, no
 * silent re-sends), the {@link WapiSession}, one call bounded by its timeout and the caller's
 * {@link Deadline}, the answer read within {@link WapiConfig#maxAnswerBytes}, what the outcome
 * tells {@link GridHealth} and the {@link CallObservers}, and the narrow retry. A call comes back
 * as an {@link Attempt} ({@link WapiFailures} says what a failure means); only {@link #execute}
 * turns a failure into the exception callers see.
 */
final class WapiTransport implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(WapiTransport.class.getName());
    private static final MediaType JSON = MediaType.get("application/json");

    /** Attempts in all, the first included. */
    private static final int ATTEMPTS = 3;
    /** 100 ms before the second attempt, 200 ms before the third, each give or take half (jitter). */
    private static final IntervalFunction BACKOFF =
            IntervalFunction.ofExponentialRandomBackoff(Duration.ofMillis(100), 2.0, 0.5);
    /** A retry is worth its backoff only with this much of the deadline left. */
    private static final long RETRY_NEEDS_NANOS = TimeUnit.MILLISECONDS.toNanos(300);
    /** Shorter than common keep-alive timeouts of web servers (Apache's default is 5 s). */
    private static final long IDLE_BEFORE_FRESH_POST_NANOS = TimeUnit.SECONDS.toNanos(2);

    private final WapiConfig config;
    private final WapiUrls urls;
    private final CallObservers observers;
    private final WapiJson json;
    private final WapiFailures failures;
    private final WapiSession session;
    private final GridHealth health;
    private final long probeTimeoutNanos;
    private final int maxAnswerBytes;
    /**
     * Built on the first call ({@link #http()}), not in the constructor: its TLS set-up (the JDK's
     * trust store, parsed) is a quarter of the daemon's start-up CPU, and the daemon binds its
     * socket first and makes its first call (the start-up look at the grid) on a thread of its own.
     */
    private final OkHttpClient.Builder httpBuilder;

    private volatile OkHttpClient http;
    /** Calls in flight at once ({@link WapiConfig#DEFAULT_MAX_CALLS}); fair: those waiting go in arrival order. */
    private final Semaphore inFlight;

    private volatile long lastAnswerNanos = System.nanoTime();

    WapiTransport(WapiConfig config, GridHealth.Settings healthSettings, WapiUrls urls, CallObservers observers) {
        this.config = config;
        this.urls = urls;
        this.observers = observers;
        this.maxAnswerBytes = config.maxAnswerBytes();
        this.inFlight = new Semaphore(config.maxCalls(), true);
        this.json = new WapiJson(maxAnswerBytes);
        this.failures = new WapiFailures(json);
        this.health = new GridHealth(healthSettings);
        this.probeTimeoutNanos = healthSettings.probeTimeout().toNanos();
        this.session = new WapiSession(config.username(), config.password());
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
                .addInterceptor(session);
        X509TrustManager trust = config.sslVerify().trustManager();
        if (trust != null) {
            builder.sslSocketFactory(SslVerify.sslContext(trust).getSocketFactory(), trust);
            if (config.sslVerify() instanceof SslVerify.Disabled) builder.hostnameVerifier((host, tls) -> true);
        }
        this.httpBuilder = builder;
        // Connections of before an outage are dead; the first call after it must not find out the hard way.
        health.onChange(change -> {
            if (change.from() == GridHealth.State.DOWN) evictConnections();
        });
    }

    GridHealth health() {
        return health;
    }

    /** Log in with these from the next call on (see {@link WapiSession#credentials}). */
    void credentials(String username, String password) {
        session.credentials(username, password);
    }

    void startHealthMonitoring() {
        health.startMonitoring(this::probeHealth);
    }

    /** The cheapest call that proves the grid is reachable and accepts the credentials. */
    void probe() {
        execute("GET", urls.probe(), null);
    }

    /**
     * A call, sent again while it is {@link Attempt.Retryable}: {@value #ATTEMPTS} attempts in all,
     * with backoff and jitter, each only with more than 300 ms of the caller's deadline left and
     * not while the grid is known down. Its failure is thrown.
     */
    JsonNode execute(String method, HttpUrl url, JsonNode body) {
        Attempt attempt = sendOnce(method, url, body);
        for (int sent = 1; sent < ATTEMPTS && attempt instanceof Attempt.Retryable && worthRepeating(); sent++) {
            if (!backOff(sent)) break;
            attempt = sendOnce(method, url, body);
        }
        return attempt.answerOrThrow();
    }

    private boolean worthRepeating() {
        return Deadline.remainingNanos() > RETRY_NEEDS_NANOS && !health.failingFast();
    }

    /**
     * Waits before the attempt after {@code sent}; false when interrupted. An interrupt ends the
     * retry with the last failure and is not set again: as resilience4j's retry, which this loop
     * replaced, did.
     */
    private static boolean backOff(int sent) {
        try {
            Thread.sleep(BACKOFF.apply(sent));
            return true;
        } catch (InterruptedException e) {
            return false;
        }
    }

    /** One call, never repeated here. */
    Attempt sendOnce(String method, HttpUrl url, JsonNode body) {
        return send(method, url, body, false);
    }

    /** The probe: light, bounded by its own timeout, sent even while the grid is down. */
    private void probeHealth() {
        health.probed(
                switch (send("GET", urls.probe(), null, true)) {
                    case Attempt.Answered _ -> true;
                    // a refusal is an answer: the grid is there
                    case Attempt.Failed(WapiException failure) -> !(failure instanceof WapiException.Transient);
                    case Attempt.Retryable _ -> false;
                });
    }

    /**
     * One call, bounded by the smaller of the call timeout and the caller's {@link Deadline};
     * refused at once (never sent) while the grid is down, unless it is the probe. Its outcome
     * tells {@link GridHealth} about the grid.
     */
    private Attempt send(String method, HttpUrl url, JsonNode body, boolean probe) {
        String what = method + " " + urls.describe(url);
        long queued = System.nanoTime();
        long left = Deadline.remainingNanos();
        if (left <= 0) {
            observers.tell(method, url, WapiCall.Outcome.NOT_SENT, 0, queued);
            return new Attempt.Failed(WapiFailures.notSent(what));
        }
        // The probe goes beside the bound: it asks whether the grid answers at all, calls stuck on it included.
        if (probe) return admitted(method, url, body, what, queued, true);
        if (!awaitTurn(Math.min(left, config.callTimeout().toNanos()))) {
            observers.tell(method, url, WapiCall.Outcome.NOT_SENT, 0, queued);
            return new Attempt.Failed(WapiFailures.notSentBusy(what, config.maxCalls()));
        }
        try {
            return admitted(method, url, body, what, queued, false);
        } finally {
            inFlight.release();
        }
    }

    /** Waits (in order, at most {@code nanos}) until fewer than {@code --wapi-max-calls} calls are in flight. */
    private boolean awaitTurn(long nanos) {
        try {
            return inFlight.tryAcquire(nanos, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /**
     * {@link #send} once its turn came: the time spent waiting for it is not the grid's (the
     * health ticket starts here), but it was the request's (its deadline is read again).
     */
    private Attempt admitted(String method, HttpUrl url, JsonNode body, String what, long queued, boolean probe) {
        String where = urls.describe(url);
        long started = System.nanoTime();
        long left = Deadline.remainingNanos();
        if (left <= 0) {
            observers.tell(method, url, WapiCall.Outcome.NOT_SENT, 0, queued);
            return new Attempt.Failed(WapiFailures.notSent(what));
        }
        GridHealth.Ticket ticket;
        try {
            ticket = probe ? health.admitProbe() : health.admit(what);
        } catch (WapiException refusedAtOnce) {
            observers.tell(method, url, WapiCall.Outcome.NOT_SENT, 0, started);
            return new Attempt.Failed(refusedAtOnce);
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
            lastAnswerNanos = System.nanoTime();
            LOG.log(
                    System.Logger.Level.DEBUG,
                    "{0} -> {1} in {2} ms",
                    what,
                    response.code(),
                    String.valueOf((System.nanoTime() - started) / 1_000_000));
            observers.tell(method, url, WapiCall.outcomeOf(response.code()), response.code(), started);
            // a 4xx (408 and 429 included) is an answer: only a 5xx counts against the grid
            boolean gridFailed = response.code() >= 500;
            if (gridFailed) ticket.failed(new IOException(what + " -> HTTP " + response.code()));
            else if (response.code() == 401)
                ticket.refused(
                        GridHealth.State.CREDENTIALS_REFUSED,
                        what
                                + " -> HTTP 401: the grid refused the credentials (check --wapi-username and the password)");
            else ticket.answered();
            return answerOf(method, where, response, answer);
        } catch (IOException e) {
            observers.tell(method, url, WapiCall.Outcome.UNREACHABLE, 0, started);
            if (WapiFailures.isTlsRefusal(e))
                ticket.refused(GridHealth.State.TLS_REFUSED, what + ": " + WapiFailures.tlsRefusal(e));
            else unanswered(ticket, e, cutByDeadline, probe);
            // One broken connection usually means the others in the pool are broken too (grid
            // restarted, load balancer flushed): start the next call on fresh ones.
            evictConnections();
            return WapiFailures.unreachable(method, what, e, tracker.sent);
        }
    }

    /** What an answer comes to; {@code answer} is null when it was too large to read. */
    private Attempt answerOf(String method, String where, Response response, byte[] answer) {
        if (!response.isSuccessful()) {
            String text =
                    answer == null ? WapiFailures.tooLarge(maxAnswerBytes) : new String(answer, StandardCharsets.UTF_8);
            return failures.refused(method, method + " " + where, response.code(), text);
        }
        if (answer == null)
            return new Attempt.Failed(WapiFailures.malformed(method, where, WapiFailures.tooLarge(maxAnswerBytes)));
        if (answer.length == 0) return new Attempt.Answered(NullNode.getInstance());
        try {
            return new Attempt.Answered(json.read(answer));
        } catch (IOException e) {
            return new Attempt.Failed(WapiFailures.unreadable(method, where, e, answer));
        }
    }

    /** What a call that got no answer tells {@link GridHealth}. */
    private void unanswered(GridHealth.Ticket ticket, IOException e, boolean cutByDeadline, boolean probe) {
        if (cutByDeadline && isCallTimeout(e)) {
            ticket.abandoned();
            health.suspect(); // the probe, with the grid's whole call timeout, tells whether it answers
        } else if (e instanceof InterruptedIOException && !probe) {
            ticket.unanswered(e); // silent for as long as the grid may take: down
        } else if (e instanceof java.net.ConnectException) {
            // refused: nothing listens there, which is no slowness; down at once, until the probe sees it back
            ticket.unanswered(e);
        } else {
            ticket.failed(e);
        }
    }

    /** okhttp's whole-call timeout (not a connect or read timeout, which are the grid's own silence). */
    private static boolean isCallTimeout(IOException e) {
        return e instanceof InterruptedIOException && !(e instanceof SocketTimeoutException);
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

    /** Logs out of the session if there is one, stops the health watch, lets okhttp's threads and connections go. */
    @Override
    public void close() {
        if (session.open()) {
            try {
                execute("POST", urls.logout(), JsonNodeFactory.instance.objectNode());
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
