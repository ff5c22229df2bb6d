package infobloxcni.store;

/**
 * An I/O failure of the journal (disk full, fsync failed, directory locked, journal closed).
 * Unchecked: the daemon cannot do anything useful per call except fail the request.
 *
 * <p>After a write or fsync failure the journal refuses further writes (the state of the file
 * after a failed fsync is unknown); close it and open it again, which recovers from the file.
 */
public class JournalException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public JournalException(String message) {
        super(message);
    }

    public JournalException(String message, Throwable cause) {
        super(message, cause);
    }
}
