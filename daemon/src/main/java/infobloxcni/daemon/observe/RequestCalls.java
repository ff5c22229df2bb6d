package infobloxcni.daemon.observe;

import infobloxcni.wapi.WapiCall;

/**
 * How many WAPI calls one request made before its answer: bound per request by
 * {@link RequestHandler} (a scoped value, so calls on other threads, such as a release behind
 * the answer, are not counted) and counted by an observer of the daemon's WAPI client.
 */
public final class RequestCalls {
    private static final ScopedValue<int[]> CALLS = ScopedValue.newInstance();

    private RequestCalls() {}

    /** A {@link WapiCall.Observer}: counts the calls that went to the grid for the request on this thread. */
    public static void count(WapiCall call) {
        if (CALLS.isBound() && call.outcome() != WapiCall.Outcome.NOT_SENT) CALLS.get()[0]++;
    }

    /** Runs {@code op} with its WAPI calls counted into {@code into[0]}. */
    public static <T> T counting(int[] into, ScopedValue.CallableOp<T, RuntimeException> op) {
        return ScopedValue.where(CALLS, into).call(op);
    }
}
