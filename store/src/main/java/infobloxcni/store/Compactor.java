package infobloxcni.store;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Compaction: keeps the logs short by snapshotting the state and rotating to a new log
 * generation, without stopping writes. From generation G to G+1 (docs/journal.md,
 * "Compaction"):
 *
 * <ol>
 *   <li>the writer thread, between two batches, creates log G+1 ({@link #startGeneration}),
 *       appends there from then on, and hands a copy of the state as of the last record of G to
 *       {@link #snapshotInBackground};
 *   <li>this class's thread writes {@code snapshot-G+1.snap.tmp} and fsyncs it;
 *   <li>renames it to {@code snapshot-G+1.snap} and fsyncs the directory (the commit point);
 *   <li>deletes the logs and snapshots older than G+1 and fsyncs the directory.
 * </ol>
 *
 * One compaction at a time. A failed one is counted and leaves the journal correct: the logs
 * still hold everything, and the next compaction supersedes them all.
 */
final class Compactor implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Compactor.class.getName());

    private record Job(long generation, long coveredSeq, List<Attachment> records) {}

    private static final Job STOP = new Job(0, 0, List.of());

    private final Path dir;
    private final long thresholdBytes;
    private final LinkedBlockingQueue<Job> queue = new LinkedBlockingQueue<>();
    private final AtomicBoolean running = new AtomicBoolean();
    private final AtomicLong compactions = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private final Thread thread;

    Compactor(Path dir, long thresholdBytes) {
        this.dir = dir;
        this.thresholdBytes = thresholdBytes;
        this.thread = Thread.ofPlatform()
                .daemon(true)
                .name("journal-compactor " + dir)
                .start(this::loop);
    }

    /** True when a log of {@code logBytes} should be rotated now: threshold reached, none running. */
    boolean due(long logBytes) {
        return logBytes >= thresholdBytes && !running.get();
    }

    /**
     * Step 1 (writer thread): creates log {@code generation} with its header, durably. Returns it,
     * or null when it could not be created (counted and logged; the caller stays in its log).
     *
     * @throws JournalException when not even the half-created file could be removed: an empty
     *     newer log would claim the records still appended to the older one, so the caller must
     *     stop writing
     */
    FileChannel startGeneration(long generation, long startSeq) {
        try {
            return WalFormat.create(dir, generation, startSeq);
        } catch (IOException | RuntimeException e) {
            failures.incrementAndGet();
            LOG.log(Level.WARNING, "journal " + dir + ": cannot start log generation " + generation, e);
            if (Files.exists(dir.resolve(JournalFiles.logName(generation)))) {
                throw new JournalException(
                        "journal " + dir + ": " + JournalFiles.logName(generation)
                                + " is there after its generation failed to start (half-created and not removable,"
                                + " or not the journal's)",
                        e);
            }
            return null;
        }
    }

    /**
     * Steps 2-4, on this class's thread. {@code records} is the whole state as of
     * {@code coveredSeq}, the last record before log {@code generation}; the caller does not touch
     * the list afterwards.
     */
    void snapshotInBackground(long generation, long coveredSeq, List<Attachment> records) {
        running.set(true);
        queue.add(new Job(generation, coveredSeq, records));
    }

    long compactions() {
        return compactions.get();
    }

    long failures() {
        return failures.get();
    }

    /** Lets a snapshot being written finish, then stops the thread. */
    @Override
    public void close() {
        queue.add(STOP);
        Uninterruptibly.join(thread);
    }

    private void loop() {
        while (true) {
            Job job = Uninterruptibly.take(queue);
            if (job == STOP) {
                return;
            }
            writeSnapshot(job);
        }
    }

    private void writeSnapshot(Job job) {
        long gen = job.generation();
        Path tmp = dir.resolve(JournalFiles.snapshotName(gen) + JournalFiles.TMP_SUFFIX);
        Path fin = dir.resolve(JournalFiles.snapshotName(gen));
        try {
            SnapshotFormat.write(tmp, gen, job.coveredSeq(), job.records());
            Files.move(tmp, fin, StandardCopyOption.ATOMIC_MOVE);
            JournalFiles.fsyncDirectory(dir);
            deleteSuperseded(gen);
            compactions.incrementAndGet();
        } catch (IOException | RuntimeException e) {
            failures.incrementAndGet();
            LOG.log(
                    Level.WARNING,
                    "journal " + dir + ": snapshot generation " + gen + " failed (the logs still hold everything)",
                    e);
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException suppressed) {
                LOG.log(Level.DEBUG, "removing " + tmp, suppressed);
            }
        } finally {
            running.set(false);
        }
    }

    private void deleteSuperseded(long gen) throws IOException {
        List<Path> old = JournalFiles.list(dir).olderThan(gen);
        for (Path p : old) {
            Files.deleteIfExists(p);
        }
        if (!old.isEmpty()) {
            JournalFiles.fsyncDirectory(dir);
        }
    }
}
