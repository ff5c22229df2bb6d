package infobloxcni.wire;

/**
 * A failure reported to the runtime as CNI error JSON. The code tells the runtime what kind of
 * failure it is; the message names the field, variable or the grid's own words.
 *
 * <p>The one list of the codes this driver answers with, whoever answers: the daemon, the plugin
 * for what it decides itself, and {@code bin/infoblox}'s {@code fail()} ({@link #IO_FAILURE},
 * checked against this constant by the plugin's tests).
 */
public final class CniError extends Exception {
    private static final long serialVersionUID = 1L;

    // Codes from the CNI specification.
    public static final int INCOMPATIBLE_VERSION = 1;
    public static final int UNSUPPORTED_FIELD = 2;
    public static final int UNKNOWN_CONTAINER = 3;
    public static final int INVALID_ENV = 4;
    public static final int IO_FAILURE = 5;
    public static final int DECODE_FAILURE = 6;
    public static final int INVALID_NETCONF = 7;
    public static final int TRY_AGAIN_LATER = 11;
    public static final int STATUS_CANNOT_ADD = 50;

    // Our own codes (100+): the grid refused, and retrying will not help until something changes.
    public static final int GRID_REJECTED = 100;
    public static final int NETWORK_FULL = 101;
    public static final int NETWORK_NAME_CONFLICT = 102;
    public static final int GRID_AUTH_FAILED = 103;
    public static final int RESERVATION_MISMATCH = 104;
    /** The peer (by its uid, from the kernel) may not make this request on this socket. */
    public static final int PEER_NOT_ALLOWED = 105;
    /** The address the runtime asked for is held on the grid by another container or client. */
    public static final int ADDRESS_TAKEN = 106;
    /** A bug in the daemon: the request failed in a way it has no code for. */
    public static final int INTERNAL_ERROR = 199;

    private final int code;
    private final String details;

    public CniError(int code, String message) {
        this(code, message, "");
    }

    /** @param details null or empty: none (the error JSON then has no {@code details}) */
    public CniError(int code, String message, String details) {
        super(message, null, false, false);
        this.code = code;
        this.details = details == null ? "" : details;
    }

    public int code() {
        return code;
    }

    public String details() {
        return details;
    }
}
