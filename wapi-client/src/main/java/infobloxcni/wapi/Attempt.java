package infobloxcni.wapi;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * What one call to the grid came to. The retry ({@link WapiTransport#execute}) and the
 * conditional writes ({@link ConditionalWrites}) both decide on it: the retry repeats only a
 * {@link Retryable}, the conditional writes look at the address again after one (and after a
 * write that may have been applied). Failures are values here, not exceptions, so that "may be
 * sent again" is never control flow; they become the exception callers see only at
 * {@link #answerOrThrow}.
 */
sealed interface Attempt {

    /** The grid answered 2xx with this body (a JSON null for an empty one). */
    record Answered(JsonNode answer) implements Attempt {}

    /**
     * Failed, and sending it again cannot change the grid twice: a read, a POST that certainly
     * never left this host, or a PUT or DELETE whose connection broke (which goes by ref, so
     * whoever repeats it looks at the address first: {@link ConditionalWrites} does, and nothing
     * else sends them).
     */
    record Retryable(WapiException.Transient failure) implements Attempt {}

    /**
     * Failed, and not to be sent again as it is: a refusal, a call never sent (no time left, the
     * grid known down), a timeout, or a write that may have been applied.
     */
    record Failed(WapiException failure) implements Attempt {}

    /** The answer, or the failure thrown. */
    default JsonNode answerOrThrow() {
        return switch (this) {
            case Answered(JsonNode answer) -> answer;
            case Retryable(WapiException.Transient failure) -> throw failure;
            case Failed(WapiException failure) -> throw failure;
        };
    }
}
