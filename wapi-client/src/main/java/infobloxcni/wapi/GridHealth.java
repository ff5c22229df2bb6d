package infobloxcni.wapi;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * What this host knows about the grid's health, learnt from the real calls and from a light probe:
 * {@link State#UP}, {@link State#DEGRADED} (answering, but some recent calls failed or were
 * slow), {@link State#DOWN} (not answering), and two states in which the grid answers but no call
 * can succeed until an operator acts: {@link State#CREDENTIALS_REFUSED} (its last answer was a 401)
 * and {@link State#TLS_REFUSED} (its certificate was not trusted, or named another host). While
 * the grid is down a call that would wait on it
 * fails at once ({@link #admit}) instead of each waiting out its timeouts; one probe at a time
 * decides when to try again.
 *
 * <p>The state machine is resilience4j's circuit breaker (the retry in use is the same library
 * family): a count-based window of the last 6 calls opens it when at least half of them (and at
 * least 3 calls in all) failed at the transport level. Two things it cannot see by itself are
 * added here. A hung grid (connections accepted, never answered) fails no call until the call's
 * own timeout, so a call in flight for {@code hangAfter} (the grid's read timeout: no byte in that
 * long) with no answer from the grid meanwhile opens the breaker too. And the breaker is never
 * half-opened by a real call: while it is open only the probe ({@code GET
 * networkview?_max_results=1}, bounded by {@code probeTimeout}) runs, every {@code probeEvery},
 * and its success closes it. When the grid is up but quiet, a probe every {@code idleProbe}
 * notices an outage before the next container does; a call that a request's own deadline cut
 * short ({@link #suspect}) asks for a probe at once instead of counting against the grid.
 *
 * <p><b>Slow is not down.</b> A grid that answers within its timeouts is up, however slowly: a
 * Grid Master under load answers {@code nextavailableip} in seconds, and ten hosts starting pods
 * at once make any grid slow. So only what says the grid is not there counts: no connection,
 * no byte within the read timeout, a 5xx. Slow calls never count, a refusal (4xx) is an answer,
 * and a call cut short by the caller's own deadline is abandoned, not failed. Each change of
 * state is logged once, and listeners hear of it (the daemon replays its queued work the moment
 * the grid is back).
 */
public final class GridHealth implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(GridHealth.class.getName());

    public enum State {
        UP,
        DEGRADED,
        DOWN,
        /** The grid answers, and refuses the credentials (401): every call fails until they are fixed. */
        CREDENTIALS_REFUSED,
        /** The grid is there, and its certificate is refused (not trusted, or not its name): no call is made. */
        TLS_REFUSED;

        /** Whether the grid is there but refuses us: an operator must act, waiting will not help. */
        public boolean refusing() {
            return this == CREDENTIALS_REFUSED || this == TLS_REFUSED;
        }
    }

    /** One change of state. */
    public record Transition(State from, State to) {}

    /**
     * @param hangAfter    a call in flight this long, with no answer from the grid since it started, means the grid
     *                     hangs: the grid's read timeout, never less (a slow answer is still an answer)
     * @param probeEvery   how often the probe runs while the grid is down
     * @param idleProbe    how often the probe runs while the grid is up but no call has been answered
     * @param probeTimeout the probe's own bound: the grid's call timeout, so that a slow grid's probe is answered
     */
    public record Settings(Duration hangAfter, Duration probeEvery, Duration idleProbe, Duration probeTimeout) {
        public static final Settings DEFAULTS =
                forTimeouts(WapiConfig.DEFAULT_READ_TIMEOUT, WapiConfig.DEFAULT_CALL_TIMEOUT);

        /** The settings for a grid reached with these timeouts: down means silent for as long as a call may wait. */
        public static Settings forTimeouts(Duration readTimeout, Duration callTimeout) {
            Duration silence = readTimeout.compareTo(callTimeout) < 0 ? readTimeout : callTimeout;
            return new Settings(silence, Duration.ofSeconds(1), Duration.ofSeconds(30), callTimeout);
        }
    }

    /** One call on its way to the grid; {@link #answered}, {@link #failed} or {@link #abandoned} ends it. */
    public final class Ticket {
        private final long started = System.nanoTime();

        private Ticket() {
            inFlight.put(this, started);
        }

        /** The grid answered (success or a refusal: it is there). */
        public void answered() {
            refusal = null; // an answer that is no refusal: the credentials and the certificate were accepted
            answeredAsGrid();
        }

        /**
         * The grid is there and refused us ({@code kind} is {@link State#CREDENTIALS_REFUSED} or
         * {@link State#TLS_REFUSED}): no count against the grid, which answered, but a state of
         * its own until an answer that is no refusal.
         */
        public void refused(State kind, String why) {
            if (!kind.refusing()) throw new IllegalArgumentException(kind + " is no refusal");
            refusal = kind;
            lastError = why;
            lastErrorAt = Instant.now();
            answeredAsGrid();
        }

        private void answeredAsGrid() {
            inFlight.remove(this);
            lastAnswer.set(System.nanoTime());
            breaker.onSuccess(System.nanoTime() - started, TimeUnit.NANOSECONDS);
            afterCall();
        }

        /** No answer, or a 5xx: counts against the grid. */
        public void failed(Throwable why) {
            inFlight.remove(this);
            lastError = why.getMessage() == null || why.getMessage().length() < 12 ? why.toString() : why.getMessage();
            lastErrorAt = Instant.now();
            breaker.onError(System.nanoTime() - started, TimeUnit.NANOSECONDS, why);
            afterCall();
        }

        /**
         * The grid left the call unanswered for its whole timeout (no byte within the read
         * timeout, or no answer within the call timeout): that alone says the grid is down.
         */
        public void unanswered(Throwable why) {
            failed(why);
            if (breaker.getState() == CircuitBreaker.State.CLOSED) {
                lastError = "no answer in time: " + lastError;
                breaker.transitionToOpenState();
            }
        }

        /** Ended for a reason that says nothing about the grid (e.g. our own deadline ran out before sending). */
        public void abandoned() {
            inFlight.remove(this);
        }
    }

    private final Settings settings;
    private final CircuitBreaker breaker;
    private final ConcurrentHashMap<Ticket, Long> inFlight = new ConcurrentHashMap<>();
    private final AtomicLong lastAnswer = new AtomicLong(System.nanoTime());
    private final List<Consumer<Transition>> listeners = new CopyOnWriteArrayList<>();
    private volatile State reported = State.UP;
    private volatile String lastError;
    private volatile Instant lastErrorAt;
    private volatile State refusal;
    private volatile Instant since = Instant.now();
    private volatile Instant lastDownEnded;
    private volatile long lastProbe = System.nanoTime();
    private volatile boolean suspected;
    private volatile ScheduledExecutorService monitor;

    public GridHealth(Settings settings) {
        this.settings = settings;
        this.breaker = CircuitBreaker.of(
                "grid",
                CircuitBreakerConfig.custom()
                        .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
                        .slidingWindowSize(6)
                        .minimumNumberOfCalls(3)
                        .failureRateThreshold(50)
                        // slow is not down: no call is ever counted as slow (hung calls are the watch's)
                        .slowCallDurationThreshold(Duration.ofDays(1))
                        .slowCallRateThreshold(100)
                        // open until the probe says otherwise: real calls never half-open it
                        .waitDurationInOpenState(Duration.ofDays(365))
                        .automaticTransitionFromOpenToHalfOpenEnabled(false)
                        .build());
        breaker.getEventPublisher().onStateTransition(e -> report());
    }

    /**
     * A call may go to the grid: returns its ticket, or fails at once while the grid is down.
     * Only once {@link #startMonitoring} runs the probe: without one, nothing would ever decide
     * that the grid is back, so a one-shot tool's calls always go.
     */
    public Ticket admit(String what) {
        if (failingFast()) {
            throw new WapiException.Transient(
                    what + ": grid unreachable, down since " + since + " (" + lastError
                            + "); not sent: the next probe decides when to try again",
                    0,
                    null,
                    null,
                    false,
                    null);
        }
        return new Ticket();
    }

    /** Whether calls are refused at once: the grid is down and a probe is watching for its return. */
    public boolean failingFast() {
        return monitor != null && breaker.getState() != CircuitBreaker.State.CLOSED;
    }

    /** A ticket for the probe, which goes even while the grid is down. */
    Ticket admitProbe() {
        lastProbe = System.nanoTime();
        return new Ticket();
    }

    /**
     * A call was cut short by its caller's deadline before the grid answered: that is no verdict
     * on the grid, so the probe (with the grid's whole call timeout) is asked to run now.
     */
    public void suspect() {
        suspected = true;
    }

    public State state() {
        return switch (breaker.getState()) {
            case CLOSED -> {
                State refused = refusal;
                if (refused != null) yield refused;
                yield breaker.getMetrics().getNumberOfFailedCalls() > 0 ? State.DEGRADED : State.UP;
            }
            default -> State.DOWN;
        };
    }

    /** The last transport failure or refusal, or null. */
    public String lastError() {
        return lastError;
    }

    /** When {@link #lastError} happened; null when nothing has failed since the start. */
    public Instant lastErrorAt() {
        return lastErrorAt;
    }

    /** When the grid was last seen back after being down; null when it never was down. */
    public Instant lastDownEnded() {
        return lastDownEnded;
    }

    /** When the current state began. */
    public Instant since() {
        return since;
    }

    /** Hears every change of state, once per change. */
    public void onChange(Consumer<Transition> listener) {
        listeners.add(listener);
    }

    /**
     * Starts the watch for hung calls and the probe. Without it (the recover command, tests of
     * the client) health still follows the calls' outcomes.
     */
    public synchronized void startMonitoring(Runnable probe) {
        if (monitor != null) return;
        monitor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "grid-health");
            t.setDaemon(true);
            return t;
        });
        monitor.scheduleWithFixedDelay(() -> tick(probe), 250, 250, TimeUnit.MILLISECONDS);
    }

    private void tick(Runnable probe) {
        try {
            long now = System.nanoTime();
            if (breaker.getState() == CircuitBreaker.State.CLOSED && hung(now)) {
                lastError = "no answer for " + settings.hangAfter().toSeconds() + " s";
                breaker.transitionToOpenState();
            }
            Duration every =
                    breaker.getState() == CircuitBreaker.State.CLOSED ? settings.idleProbe() : settings.probeEvery();
            long quiet = Math.min(now - lastProbe, now - lastAnswer.get());
            if (quiet >= every.toNanos() || suspected) {
                suspected = false;
                probe.run();
            }
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "grid health tick: {0}", e.toString());
        }
    }

    /** A call has waited longer than hangAfter and the grid has answered nothing since it started. */
    private boolean hung(long now) {
        long answered = lastAnswer.get();
        for (long started : inFlight.values()) {
            if (now - started > settings.hangAfter().toNanos() && answered - started < 0) return true;
        }
        return false;
    }

    /** The probe's verdict: closes or opens the breaker. */
    void probed(boolean answered) {
        if (answered && breaker.getState() != CircuitBreaker.State.CLOSED) breaker.transitionToClosedState();
        if (!answered && breaker.getState() == CircuitBreaker.State.CLOSED) breaker.transitionToOpenState();
    }

    private void afterCall() {
        State now = state();
        if (now != reported) report();
    }

    private synchronized void report() {
        State now = state();
        if (now == reported) return;
        State before = reported;
        reported = now;
        since = Instant.now();
        if (before == State.DOWN) lastDownEnded = since;
        System.Logger.Level level = now == State.UP
                ? System.Logger.Level.INFO
                : now.refusing() ? System.Logger.Level.ERROR : System.Logger.Level.WARNING;
        LOG.log(
                level,
                "grid {0} (was {1}){2}",
                now,
                before,
                now == State.UP || lastError == null ? "" : ": " + lastError);
        Transition change = new Transition(before, now);
        for (Consumer<Transition> l : listeners) {
            try {
                l.accept(change);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "grid health listener failed: {0}", e.toString());
            }
        }
    }

    @Override
    public synchronized void close() {
        if (monitor != null) monitor.shutdownNow();
    }
}
