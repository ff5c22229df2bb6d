package infobloxcni.wapisim;

import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Fault injection for one simulator. Applies to WAPI calls only (paths under {@code /wapi/}), never to
 * the {@code /_sim} control endpoint. For each WAPI call, in this order:
 * <ol>
 *   <li>the call is counted;</li>
 *   <li>while the grid {@link #hang(boolean) hangs}, the call is held unanswered, and dropped when the hang ends;</li>
 *   <li>with a {@link #capacity(int) capacity}, the call waits for a free slot, in arrival order, and holds
 *       it until it is answered;</li>
 *   <li>{@link #latency(Duration) latency} is slept;</li>
 *   <li>a pending {@link #dropBeforeApplyingNext(int) drop-before} closes the connection (TCP reset),
 *       nothing applied;</li>
 *   <li>a pending {@link #failNext(int, int, String, String) failure} answers the WAPI error (or, in
 *       the {@link #failNext(int, int, String) gateway form}, a proxy's HTML page), nothing applied;</li>
 *   <li>the call is authenticated and carried out;</li>
 *   <li>a pending {@link #dropAfterApplyingNext(int, String) drop-after} for the call's method discards
 *       the answer and resets the connection: the change is applied but the client never learns it;</li>
 *   <li>a pending {@link #failAfterApplyingNext(int, int, String, String, String) fail-after} replaces the
 *       answer with a WAPI error, or in the {@link #failAfterApplyingNext(int, int, String) gateway form}
 *       with a proxy's 502/503/504 page: the change is applied, the client is told it failed (a grid
 *       that commits while the proxy in front of it gives up answers like this).</li>
 * </ol>
 * Every method may be called from any thread; each returns this object for chaining.
 */
public final class Faults {
    private final Consumer<Boolean> outageSwitch;

    /**
     * An injected answer: {@code status} with the WAPI error body of {@code error}, or, when
     * {@code error} is null, with a gateway's HTML error page ({@link GatewayPage}).
     */
    record Injected(int status, WapiError error) {}

    /**
     * An answer for the next {@code remaining} calls of {@code method} (null: any): a WAPI error, or
     * a gateway's HTML page when {@code code} is null.
     */
    private static final class PendingError {
        int remaining;
        String method;
        int status;
        String code;
        String text;

        void arm(int n, int httpStatus, String code, String text, String method) {
            if (n < 0) throw new IllegalArgumentException("n < 0");
            if (httpStatus < 100 || httpStatus > 599) throw new IllegalArgumentException("status " + httpStatus);
            if ((code == null) != (text == null)) throw new IllegalArgumentException("code and text go together");
            this.code = code;
            this.text = text;
            this.remaining = n;
            this.status = httpStatus;
            this.method = normalize(method);
        }

        Injected take(String callMethod) {
            if (remaining <= 0 || !applies(method, callMethod)) return null;
            remaining--;
            return new Injected(status, code == null ? null : new WapiError(status, code + ": " + text, code, text));
        }
    }

    private Duration latency = Duration.ZERO;
    private final PendingError failure = new PendingError();
    private final PendingError failureAfter = new PendingError();
    private int dropBeforeRemaining;
    private String dropBeforeMethod;
    private int dropAfterRemaining;
    private String dropAfterMethod;
    private boolean outage;
    private boolean hung;
    private final CallSlots slots = new CallSlots();

    Faults(Consumer<Boolean> outageSwitch) {
        this.outageSwitch = outageSwitch;
    }

    /** Adds this delay to every WAPI call (zero for none). */
    public synchronized Faults latency(Duration d) {
        Objects.requireNonNull(d, "latency");
        if (d.isNegative()) throw new IllegalArgumentException("negative latency " + d);
        latency = d;
        return this;
    }

    /**
     * The next {@code n} WAPI calls answer {@code httpStatus} with the body
     * {@code {"Error": "<code>: <text>", "code": code, "text": text}}; nothing is applied.
     * Replaces any failure still pending.
     */
    public Faults failNext(int n, int httpStatus, String code, String text) {
        return failNext(n, httpStatus, code, text, null);
    }

    /** As {@link #failNext(int, int, String, String)}, counting only calls with this HTTP method (null: any). */
    public synchronized Faults failNext(int n, int httpStatus, String code, String text, String method) {
        failure.arm(n, httpStatus, Objects.requireNonNull(code, "code"), Objects.requireNonNull(text, "text"), method);
        return this;
    }

    /**
     * The next {@code n} WAPI calls of this HTTP method (null or "*": any) are answered
     * {@code httpStatus} with a gateway's HTML error page, not a WAPI body, as a load balancer or
     * proxy in front of a grid answers 502, 503 or 504 when it cannot reach it. Nothing is applied.
     */
    public synchronized Faults failNext(int n, int httpStatus, String method) {
        failure.arm(n, httpStatus, null, null, method);
        return this;
    }

    /** The next {@code n} WAPI calls: the request is read, then the connection is reset; nothing is applied. */
    public Faults dropBeforeApplyingNext(int n) {
        return dropBeforeApplyingNext(n, null);
    }

    /** As {@link #dropBeforeApplyingNext(int)}, counting only calls with this HTTP method (null: any). */
    public synchronized Faults dropBeforeApplyingNext(int n, String method) {
        if (n < 0) throw new IllegalArgumentException("n < 0");
        dropBeforeRemaining = n;
        dropBeforeMethod = normalize(method);
        return this;
    }

    /**
     * The next {@code n} WAPI calls with this HTTP method (e.g. "POST", "DELETE"; null or "*": any) are
     * carried out, then the connection is reset without any response: a lost response.
     */
    public synchronized Faults dropAfterApplyingNext(int n, String method) {
        if (n < 0) throw new IllegalArgumentException("n < 0");
        dropAfterRemaining = n;
        dropAfterMethod = normalize(method);
        return this;
    }

    /**
     * The next {@code n} WAPI calls with this HTTP method (null or "*": any) are carried out, and then
     * answered with the error {@code httpStatus}/{@code code}/{@code text} instead of their result.
     */
    public synchronized Faults failAfterApplyingNext(int n, int httpStatus, String code, String text, String method) {
        failureAfter.arm(
                n, httpStatus, Objects.requireNonNull(code, "code"), Objects.requireNonNull(text, "text"), method);
        return this;
    }

    /**
     * The next {@code n} WAPI calls of this HTTP method (null or "*": any) are carried out, and then
     * answered {@code httpStatus} with a gateway's HTML error page instead of their result: a grid
     * that committed the write while the load balancer or proxy in front of it gave up and answered
     * 502, 503 or 504. The client is told "failed", by status alone, about a write that happened.
     */
    public synchronized Faults failAfterApplyingNext(int n, int httpStatus, String method) {
        failureAfter.arm(n, httpStatus, null, null, method);
        return this;
    }

    /**
     * A busy grid: at most {@code n} WAPI calls are carried out at once (0, the default: unlimited).
     * The others wait their turn in arrival order, and the {@link #latency(Duration) latency} is
     * served while a call holds its slot, so with latency L the grid serves at most n/L calls a
     * second and a queue builds under load. Answers come late, but they come: a waiting call is
     * never dropped, and one whose client gave up is still carried out when its turn comes.
     * Lowering {@code n} lets the calls in service finish; raising it starts waiters at once.
     */
    public Faults capacity(int n) {
        slots.limit(n);
        return this;
    }

    /** The capacity: at most this many WAPI calls in service at once; 0 is unlimited. */
    public int capacity() {
        return slots.limit();
    }

    /** WAPI calls waiting for a slot now. */
    public int queuedCalls() {
        return slots.queued();
    }

    /** WAPI calls holding a slot now (0 while the capacity is unlimited). */
    public int callsInService() {
        return slots.inService();
    }

    /**
     * On: the listening socket is closed (new connections are refused) and every open connection is
     * reset. Off: the simulator listens again on the same port. Returns once the switch is done.
     */
    public Faults outage(boolean on) {
        synchronized (this) {
            if (outage == on) return this;
            outage = on;
        }
        outageSwitch.accept(on);
        return this;
    }

    /**
     * On: a hung grid. Connections are accepted and requests read, but no call is answered or
     * applied until the hang ends; then each waiting call's connection is reset (nothing applied,
     * as a grid that was restarted). Off: calls are answered again. A client sees only its own
     * timeouts.
     */
    public synchronized Faults hang(boolean on) {
        hung = on;
        notifyAll();
        return this;
    }

    public synchronized boolean hung() {
        return hung;
    }

    /** Holds a call while the grid hangs; true when it was held (the call is then dropped). */
    synchronized boolean holdWhileHung() {
        if (!hung) return false;
        while (hung) {
            try {
                wait();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return true;
            }
        }
        return true;
    }

    /** Clears every fault: no latency, nothing pending, unlimited capacity (waiters start now), outage off. */
    public Faults reset() {
        synchronized (this) {
            latency = Duration.ZERO;
            failure.remaining = 0;
            failureAfter.remaining = 0;
            dropBeforeRemaining = 0;
            dropAfterRemaining = 0;
            hung = false;
            notifyAll();
        }
        slots.limit(0);
        outage(false);
        return this;
    }

    /** The simulator is closing: calls held by a hang or waiting for a slot are dropped. */
    void shutdown() {
        synchronized (this) {
            hung = false;
            notifyAll();
        }
        slots.close();
    }

    public synchronized Duration latency() {
        return latency;
    }

    public synchronized boolean outage() {
        return outage;
    }

    /** Failures still to be injected. */
    public synchronized int pendingFailures() {
        return failure.remaining;
    }

    /** Drops-before still to be injected. */
    public synchronized int pendingDropsBefore() {
        return dropBeforeRemaining;
    }

    /** Drops-after still to be injected. */
    public synchronized int pendingDropsAfter() {
        return dropAfterRemaining;
    }

    /** Fail-afters still to be injected. */
    public synchronized int pendingFailuresAfter() {
        return failureAfter.remaining;
    }

    // ---- consumed by the request path ----

    synchronized boolean takeDropBefore(String method) {
        if (dropBeforeRemaining > 0 && applies(dropBeforeMethod, method)) {
            dropBeforeRemaining--;
            return true;
        }
        return false;
    }

    /** Waits for a service slot (see {@link #capacity(int)}). */
    CallSlots.Entry enterService() {
        return slots.enter();
    }

    /** Gives back the slot {@link #enterService()} took. */
    void leaveService(CallSlots.Entry entry) {
        if (entry == CallSlots.Entry.SLOT) slots.leave();
    }

    synchronized Injected takeFailure(String method) {
        return failure.take(method);
    }

    synchronized boolean takeDropAfter(String method) {
        if (dropAfterRemaining > 0 && applies(dropAfterMethod, method)) {
            dropAfterRemaining--;
            return true;
        }
        return false;
    }

    synchronized Injected takeFailureAfter(String method) {
        return failureAfter.take(method);
    }

    private static boolean applies(String wanted, String method) {
        return wanted == null || wanted.equals(method.toUpperCase(Locale.ROOT));
    }

    private static String normalize(String method) {
        if (method == null || method.isBlank() || method.equals("*")) return null;
        return method.trim().toUpperCase(Locale.ROOT);
    }
}
