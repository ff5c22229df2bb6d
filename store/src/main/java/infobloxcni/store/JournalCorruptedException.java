package infobloxcni.store;

import java.nio.file.Path;

/**
 * The journal's files hold something that is not a crash artefact: acknowledged data is damaged
 * or missing. The journal refuses to open rather than return wrong data. The daemon's way out is
 * {@link Journal#quarantine(Path)} and a rebuild from the grid.
 */
public class JournalCorruptedException extends Exception {
    private static final long serialVersionUID = 1L;

    private final transient Path file;
    private final long offset;
    private final String detail;

    public JournalCorruptedException(Path file, long offset, String detail) {
        this(file, offset, detail, null);
    }

    public JournalCorruptedException(Path file, long offset, String detail, Throwable cause) {
        super("journal corrupted: " + file + (offset >= 0 ? " at offset " + offset : "") + ": " + detail, cause);
        this.file = file;
        this.offset = offset;
        this.detail = detail;
    }

    /** The damaged file (or the journal directory when a file is missing). */
    public Path file() {
        return file;
    }

    /** Byte offset of the damage in {@link #file()}, or -1 when it concerns the whole file. */
    public long offset() {
        return offset;
    }

    /** What is wrong, without the file and offset. */
    public String detail() {
        return detail;
    }
}
