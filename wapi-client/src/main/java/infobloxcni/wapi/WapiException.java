package infobloxcni.wapi;

/**
 * Everything that can go wrong talking to the grid, as a closed set of types so that callers
 * decide by type, never by parsing messages. Each carries the grid's own {@code text} when the
 * grid answered, because that text is what an operator needs to see.
 */
public abstract sealed class WapiException extends RuntimeException {
    private final int httpStatus;
    private final String gridCode;
    private final String gridText;

    WapiException(String message, int httpStatus, String gridCode, String gridText, Throwable cause) {
        super(message, cause);
        this.httpStatus = httpStatus;
        this.gridCode = gridCode;
        this.gridText = gridText;
    }

    /** HTTP status of the grid's answer, or 0 when there was no answer. */
    public int httpStatus() {
        return httpStatus;
    }

    /** The grid's {@code code} field (e.g. {@code Client.Ibap.Data.Conflict}), or null. */
    public String gridCode() {
        return gridCode;
    }

    /** The grid's {@code text} field, or null when the grid did not answer. */
    public String gridText() {
        return gridText;
    }

    /** The object or reference does not exist on the grid. */
    public static final class NotFound extends WapiException {
        NotFound(String message, int status, String code, String text) {
            super(message, status, code, text, null);
        }
    }

    /** The grid refused because the object already exists or overlaps another. */
    public static final class Conflict extends WapiException {
        Conflict(String message, int status, String code, String text) {
            super(message, status, code, text, null);
        }
    }

    /** No free address left in the network ("Cannot find 1 available IP address(es)"). */
    public static final class NetworkFull extends WapiException {
        NetworkFull(String message, int status, String code, String text) {
            super(message, status, code, text, null);
        }
    }

    /** Credentials refused (HTTP 401). Retrying will not help until the configuration changes. */
    public static final class AuthenticationFailed extends WapiException {
        AuthenticationFailed(String message, int status, String code, String text) {
            super(message, status, code, text, null);
        }
    }

    /** Any other refusal by the grid (bad field, unknown EA, missing view...). Not worth retrying. */
    public static final class Rejected extends WapiException {
        Rejected(String message, int status, String code, String text) {
            super(message, status, code, text, null);
        }
    }

    /**
     * The grid could not be reached or did not answer properly; trying again later may work.
     * {@link #mayHaveBeenApplied()} is what makes retrying writes safe: when it is true, the
     * write may have changed the grid even though we saw no answer, so the caller must look
     * before writing again.
     */
    public static final class Transient extends WapiException {
        private final boolean mayHaveBeenApplied;

        Transient(String message, int status, String code, String text, boolean mayHaveBeenApplied, Throwable cause) {
            super(message, status, code, text, cause);
            this.mayHaveBeenApplied = mayHaveBeenApplied;
        }

        /** False when the request certainly never reached the grid, or was a read. */
        public boolean mayHaveBeenApplied() {
            return mayHaveBeenApplied;
        }
    }
}
