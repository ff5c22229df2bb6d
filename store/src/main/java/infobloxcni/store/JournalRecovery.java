package infobloxcni.store;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;

/**
 * What {@link Journal#open} does to the files before anything is written: find the newest
 * committed snapshot, replay the logs after it, cut a torn tail off the newest log, remove the
 * leftovers of an interrupted compaction, and name the log to continue in. Files only, no
 * threads, so it can be tested alone on a directory of files. The caller holds the
 * {@link DirectoryLock}.
 *
 * <p>Every step is safe to repeat: a crash during recovery leaves files that the next recovery
 * reads the same way (see docs/journal.md, "Open (recovery)").
 */
final class JournalRecovery {
    private static final System.Logger LOG = System.getLogger(JournalRecovery.class.getName());

    private JournalRecovery() {}

    /**
     * What recovery found and left.
     *
     * @param state the acknowledged state: snapshot plus replayed records
     * @param lastSeq sequence number of the last record in {@code state} (0 for a new journal)
     * @param generation generation of {@code log}
     * @param log the log to append to: exists, has a durable header, ends at {@code logSize}
     * @param logSize where the next record goes (the torn tail, if any, is already cut)
     * @param tornBytes bytes cut off the newest log (an unacknowledged write)
     * @param tornReason why the tail was judged torn, with offset and file; null when none was
     * @param removed leftovers deleted: unfinished snapshots and logs (temporary names), superseded logs
     *     and snapshots
     */
    record Recovered(
            Map<AttachmentKey, Attachment> state,
            long lastSeq,
            long generation,
            Path log,
            long logSize,
            long tornBytes,
            String tornReason,
            List<Path> removed) {
        long nextSeq() {
            return lastSeq + 1;
        }
    }

    /**
     * Recovers the journal in {@code dir} (which exists).
     *
     * @throws JournalCorruptedException acknowledged data is damaged or missing (never for a torn
     *     tail)
     */
    static Recovered recover(Path dir) throws IOException, JournalCorruptedException {
        JournalFiles.Listing files = JournalFiles.list(dir);
        List<Path> removed = new ArrayList<>();
        // 1. An unfinished snapshot was never committed, and a log still under its temporary name
        //    never had a record (records go only into a log renamed into place with its whole
        //    header): garbage by definition.
        for (Path p : files.tmps()) {
            Files.deleteIfExists(p);
            removed.add(p);
        }

        // 2. The newest committed snapshot is the base; anything older is superseded.
        NavigableMap<Long, Path> snaps = files.snapshots();
        long base = snaps.isEmpty() ? 0 : snaps.lastKey();
        Map<AttachmentKey, Attachment> state = new HashMap<>();
        long lastSeq = 0;
        if (base > 0) {
            SnapshotFormat.Snapshot snap = SnapshotFormat.read(snaps.get(base), base);
            state.putAll(snap.records());
            lastSeq = snap.lastSeq();
        }
        NavigableMap<Long, Path> logs = files.logs();
        NavigableMap<Long, Path> live = new TreeMap<>(base > 0 ? logs.tailMap(base, true) : logs);

        // 3. Every log under its own name had its whole header when it got that name: one whose
        //    header is cut is damaged, and its replay below says so (the caller quarantines it).
        //    Only what provably never held a record is ever removed.
        checkComplete(dir, base, live);

        // 4. Replay the logs in order. Only the newest may end in a torn write.
        long tornBytes = 0;
        String tornReason = null;
        int validEnd = -1;
        for (Map.Entry<Long, Path> e : live.entrySet()) {
            boolean newest = e.getKey().equals(live.lastKey());
            byte[] d = JournalFiles.readAll(e.getValue());
            WalFormat.Replay r = WalFormat.replay(e.getValue(), d, e.getKey(), lastSeq + 1, newest, state);
            lastSeq = r.lastSeq();
            if (newest) {
                validEnd = r.validEnd();
                if (r.torn()) {
                    tornBytes = d.length - r.validEnd();
                    tornReason = r.tornReason() + " at offset " + r.validEnd() + " of " + e.getValue();
                }
            }
        }

        // 5. Continue in the newest log (cut at its valid end), or start generation 1.
        long generation;
        Path log;
        long size;
        if (live.isEmpty()) {
            generation = 1;
            WalFormat.create(dir, generation, lastSeq + 1).close(); // durable; the writer reopens it
            log = dir.resolve(JournalFiles.logName(generation));
            size = WalFormat.HEADER_SIZE;
        } else {
            generation = live.lastKey();
            log = live.lastEntry().getValue();
            cutTornTail(log, validEnd);
            size = validEnd;
        }

        // 6. Logs and snapshots older than the base were superseded by it (a compaction died
        //    between committing the snapshot and deleting them).
        for (Path p : files.olderThan(base)) {
            Files.deleteIfExists(p);
            removed.add(p);
        }
        if (!removed.isEmpty()) {
            JournalFiles.fsyncDirectory(dir);
        }
        if (tornBytes > 0 || !removed.isEmpty()) {
            LOG.log(
                    Level.INFO,
                    "journal {0}: recovered; dropped {1} torn bytes ({2}), removed {3}" + " leftover files",
                    dir,
                    tornBytes,
                    tornReason,
                    removed.size());
        }
        return new Recovered(state, lastSeq, generation, log, size, tornBytes, tornReason, List.copyOf(removed));
    }

    /**
     * The live logs must be exactly the generations the base needs: with a snapshot of K, log K
     * and every generation after it; without one, generation 1 onwards. A gap is a lost file.
     */
    private static void checkComplete(Path dir, long base, NavigableMap<Long, Path> live)
            throws JournalCorruptedException {
        if (base > 0 && (live.isEmpty() || live.firstKey() != base)) {
            throw new JournalCorruptedException(
                    dir.resolve(JournalFiles.logName(base)),
                    -1,
                    "missing: snapshot " + JournalFiles.snapshotName(base) + " exists but its log does not");
        }
        if (base == 0 && !live.isEmpty() && live.firstKey() != 1) {
            throw new JournalCorruptedException(
                    live.firstEntry().getValue(),
                    -1,
                    "missing: no snapshot, but the oldest log is generation " + live.firstKey()
                            + " (a log starting from generation 1 or a snapshot is needed)");
        }
        long expectGen = live.isEmpty() ? 0 : live.firstKey();
        for (long g : live.keySet()) {
            if (g != expectGen) {
                throw new JournalCorruptedException(
                        dir.resolve(JournalFiles.logName(expectGen)),
                        -1,
                        "missing: log generation " + expectGen + " (have " + live.keySet() + ")");
            }
            expectGen++;
        }
    }

    /** Cuts the newest log at the end of its last valid record, durably, before anything follows. */
    private static void cutTornTail(Path log, long validEnd) throws IOException {
        try (FileChannel ch = FileChannel.open(log, StandardOpenOption.WRITE)) {
            if (ch.size() != validEnd) {
                ch.truncate(validEnd);
                ch.force(true);
            }
        }
    }
}
