package infobloxcni.store;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The attachment store: an append-only, checksummed intent log with group commit, periodic
 * snapshots, and the whole state in memory. See docs/journal.md for the file formats, the
 * durability points and why every crash point is safe.
 *
 * <p>This class is the facade; each job has its own class: {@link DirectoryLock} (one process
 * at a time), {@link JournalRecovery} (the files at open), {@link GroupCommitWriter} (append + fsync,
 * shared among concurrent callers), {@link Compactor} (snapshot + log rotation),
 * {@link Quarantine} (moving damaged files aside).
 *
 * <p>Threads: callers of {@link #put}/{@link #remove} hand their record to one writer thread and
 * wait (uninterruptibly) until it is fsynced; records that arrive while the writer is in an fsync
 * share the next one (group commit). File I/O never runs in a caller's thread, so interrupting a
 * caller cannot close the log channel. Snapshots are written by a second background thread while
 * writes continue into a new log generation. Reads come from memory.
 *
 * <p>One process at a time: {@link #open} takes an exclusive lock on {@code LOCK} in the directory.
 */
public final class Journal implements AttachmentStore {
    private static final Comparator<Attachment> BY_KEY = Comparator.comparing(
                    (Attachment a) -> a.key().network())
            .thenComparing(a -> a.key().containerId())
            .thenComparing(a -> a.key().ifName());

    private final Path dir;
    private final JournalOptions options;
    private final DirectoryLock lock;
    /** Exactly the acknowledged state: changed only by the writer, after each fsync. */
    private final ConcurrentHashMap<AttachmentKey, Attachment> map;

    private final Compactor compactor;
    private final GroupCommitWriter writer;
    private final long tornBytesDropped;
    private final int filesRemovedAtOpen;

    private Journal(
            Path dir, JournalOptions options, DirectoryLock lock, JournalRecovery.Recovered r, FileChannel log) {
        this.dir = dir;
        this.options = options;
        this.lock = lock;
        this.map = new ConcurrentHashMap<>(r.state());
        this.tornBytesDropped = r.tornBytes();
        this.filesRemovedAtOpen = r.removed().size();
        this.compactor = new Compactor(dir, options.compactionThresholdBytes());
        this.writer = new GroupCommitWriter(dir, log, r.generation(), r.logSize(), r.nextSeq(), map, compactor);
    }

    /** Opens (or creates, mode 0700) the journal in {@code directory} with default options. */
    public static Journal open(Path directory) throws JournalCorruptedException {
        return open(directory, JournalOptions.defaults());
    }

    /**
     * Opens (or creates, mode 0700) the journal in {@code directory}: loads the newest snapshot,
     * replays the logs after it, cuts a torn tail off the newest log, removes leftovers of an
     * interrupted compaction.
     *
     * @throws JournalCorruptedException acknowledged data is damaged or missing (never for a torn
     *     tail, which is an unacknowledged write)
     * @throws JournalException I/O error, or the journal is open in another process or this JVM
     */
    public static Journal open(Path directory, JournalOptions options) throws JournalCorruptedException {
        Objects.requireNonNull(directory, "directory");
        Objects.requireNonNull(options, "options");
        Path dir = directory.toAbsolutePath().normalize();
        DirectoryLock lock = null;
        FileChannel log = null;
        try {
            lock = DirectoryLock.acquire(dir);
            JournalRecovery.Recovered r = JournalRecovery.recover(dir);
            log = FileChannel.open(r.log(), StandardOpenOption.WRITE);
            return new Journal(dir, options, lock, r, log);
        } catch (IOException e) {
            JournalFiles.closeQuietly(log);
            JournalFiles.closeQuietly(lock);
            throw new JournalException("cannot open journal " + dir + ": " + e, e);
        } catch (JournalCorruptedException | RuntimeException | Error e) {
            JournalFiles.closeQuietly(log);
            JournalFiles.closeQuietly(lock);
            throw e;
        }
    }

    /**
     * Moves every journal file (logs, snapshots, unfinished snapshots) into
     * {@code directory/corrupt-<UTC timestamp>/}, fsyncs, and returns that directory. Afterwards
     * {@link #open} starts an empty journal. Files are moved snapshots first, then logs oldest
     * first, so a crash in the middle leaves a directory that either opens with correct data or
     * is reported corrupted again (never one that opens with silently missing records).
     *
     * @throws JournalException on I/O error, or when the journal is open
     */
    public static Path quarantine(Path directory) {
        Objects.requireNonNull(directory, "directory");
        Path dir = directory.toAbsolutePath().normalize();
        try {
            return Quarantine.moveAside(dir);
        } catch (IOException e) {
            throw new JournalException("cannot quarantine journal " + dir + ": " + e, e);
        }
    }

    @Override
    public Optional<Attachment> get(AttachmentKey key) {
        Objects.requireNonNull(key, "key");
        return Optional.ofNullable(map.get(key));
    }

    @Override
    public List<Attachment> all() {
        List<Attachment> out = new ArrayList<>(map.values());
        out.sort(BY_KEY);
        return out;
    }

    @Override
    public List<Attachment> byContainer(String containerId) {
        Objects.requireNonNull(containerId, "containerId");
        List<Attachment> out = new ArrayList<>();
        for (Attachment a : map.values()) {
            if (a.key().containerId().equals(containerId)) {
                out.add(a);
            }
        }
        out.sort(BY_KEY);
        return out;
    }

    /**
     * Stores {@code a} under {@code a.key()}, replacing any previous record; returns once the
     * record is fsynced and visible to readers.
     *
     * @throws IllegalArgumentException when the encoded record exceeds 1 MiB
     * @throws JournalException on I/O failure (the write may or may not be on disk), or when closed
     */
    @Override
    public void put(Attachment a) {
        Objects.requireNonNull(a, "attachment");
        byte[] body = AttachmentCodec.encodeAttachment(a);
        if (body.length > WalFormat.MAX_BODY) {
            throw new IllegalArgumentException(
                    "attachment record too large: " + body.length + " bytes (max " + WalFormat.MAX_BODY + ")");
        }
        writer.append(WalFormat.TYPE_PUT, a.key(), a, body);
    }

    /**
     * Removes the record of {@code key}; returns once the removal is fsynced. When the key is
     * absent nothing is written (its absence is already durable).
     */
    @Override
    public void remove(AttachmentKey key) {
        Objects.requireNonNull(key, "key");
        writer.ensureOpen();
        if (!map.containsKey(key)) {
            return;
        }
        writer.append(WalFormat.TYPE_REMOVE, key, null, AttachmentCodec.encodeKey(key));
    }

    /** Counters and sizes; cheap, lock-free. */
    public JournalStats stats() {
        return new JournalStats(
                map.size(),
                writer.logSize(),
                writer.generation(),
                writer.commits(),
                writer.fsyncs(),
                compactor.compactions(),
                compactor.failures(),
                writer.lastSequence(),
                tornBytesDropped,
                filesRemovedAtOpen,
                writer.failed());
    }

    /** The directory this journal lives in. */
    public Path directory() {
        return dir;
    }

    /** The options this journal was opened with. */
    public JournalOptions options() {
        return options;
    }

    /** Lets queued writes commit and a running snapshot finish, then releases the files. */
    @Override
    public void close() {
        if (!writer.close()) {
            return;
        }
        compactor.close();
        lock.close();
    }
}
