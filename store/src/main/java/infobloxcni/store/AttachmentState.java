package infobloxcni.store;

/**
 * Where an attachment (or a warm pool address) is in its life. The daemon owns the transitions;
 * the store only stores: {@code ADD_PENDING -> ALLOCATED}; {@code ALLOCATED -> DEL_PENDING ->
 * (removed)}; {@code ADD_PENDING -> (removed)} when an ADD is abandoned; from the pool:
 * {@code POOL_PENDING -> POOL -> TAG_PENDING -> ALLOCATED -> RETURN_PENDING -> POOL}.
 *
 * <p>On disk each state has a fixed code that never changes (see {@link #code()}); reordering
 * or adding constants does not change the file format.
 */
public enum AttachmentState {
    /** Intent to allocate recorded; the grid call has not (known to have) succeeded yet. */
    ADD_PENDING(1),
    /** The grid holds the address; the attachment is live. */
    ALLOCATED(2),
    /** Intent to release recorded; the grid call has not (known to have) succeeded yet. */
    DEL_PENDING(3),
    /** Answered from the pool: the address is the attachment's; the grid still shows the pool's tag. */
    TAG_PENDING(4),
    /** A DEL gives the address back to the pool: intent recorded, the grid's retag not done yet. */
    RETURN_PENDING(5),
    /** Intent to reserve a pool address recorded; the grid call has not (known to have) succeeded. */
    POOL_PENDING(6),
    /** A free pool address: reserved on the grid for this host, held by no attachment. */
    POOL(7);

    private final int code;

    AttachmentState(int code) {
        this.code = code;
    }

    /** The stable on-disk code of this state (schema version 1). */
    public int code() {
        return code;
    }

    /** The state for an on-disk code, or null if the code is unknown. */
    static AttachmentState ofCode(int code) {
        for (AttachmentState s : values()) {
            if (s.code == code) {
                return s;
            }
        }
        return null;
    }
}
