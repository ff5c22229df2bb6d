package infobloxcni.wapi;

/**
 * One WAPI call as the client sent it (or refused to), told to the {@link Observer}s: what the
 * daemon counts per request and exports as metrics. The object type is the URL's first path
 * segment ({@code fixedaddress}, {@code request}, {@code network}...), never a ref or a query, so
 * it names one of the few types this client uses.
 *
 * @param status the HTTP status of the answer; 0 when none came
 */
public record WapiCall(String method, String objectType, Outcome outcome, int status, long nanos) {

    public enum Outcome {
        /** 2xx. */
        ANSWERED,
        /** 4xx: the grid said no (not found, conflict, bad request, authentication). */
        REFUSED,
        /** 5xx, 408, 429: the grid answered but failed. */
        FAILED,
        /** No answer: connection refused or broken, TLS failure, timeout. */
        UNREACHABLE,
        /** Never sent: the grid is known to be down, or the request's time for the grid ran out. */
        NOT_SENT
    }

    /** Runs on the calling thread: must be quick and must not throw. */
    @FunctionalInterface
    public interface Observer {
        void called(WapiCall call);
    }

    static Outcome outcomeOf(int status) {
        if (status >= 200 && status < 300) return Outcome.ANSWERED;
        if (status >= 500 || status == 408 || status == 429) return Outcome.FAILED;
        return Outcome.REFUSED;
    }
}
