package infobloxcni.store;

import java.util.List;
import java.util.Optional;

/**
 * The daemon's local record of attachments. Knows nothing of WAPI or CNI.
 *
 * <p>All methods are thread-safe. Reads are served from memory and never block on I/O.
 * {@link #put} and {@link #remove} return only once the change is on stable storage (fsynced);
 * when they throw {@link JournalException} the change may or may not have reached the disk
 * (treat it as unknown, like a grid call that timed out).
 */
public interface AttachmentStore extends AutoCloseable {

    Optional<Attachment> get(AttachmentKey key);

    /** Every attachment, sorted by key (network, containerId, ifName). */
    List<Attachment> all();

    /** The attachments of one container (any network, any interface), sorted by key. */
    List<Attachment> byContainer(String containerId);

    /** Inserts or replaces the record for {@code a.key()}; durable when it returns. */
    void put(Attachment a);

    /** Removes the record; durable when it returns; no-op if absent. */
    void remove(AttachmentKey key);

    /** Waits for in-flight writes and background compaction, then releases the files. Idempotent. */
    @Override
    void close();
}
