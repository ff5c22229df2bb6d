package infobloxcni.store;

import static infobloxcni.store.TestData.allocated;
import static infobloxcni.store.TestData.key;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A crash at each step of a compaction, simulated by building the intermediate files by hand.
 * Compaction from generation G to G+1: (1) create log-(G+1) with its header, fsync, fsync dir,
 * writes continue there; (2) write snapshot-(G+1).snap.tmp, fsync; (3) rename it to
 * snapshot-(G+1).snap, fsync dir (commit point); (4) delete logs and snapshots older than G+1,
 * fsync dir.
 */
class JournalCompactionCrashTest {
    @TempDir
    Path tmp;

    private Path dir;
    private Map<AttachmentKey, Attachment> expected;
    private long lastSeq;

    /** Generation 1 holds 20 records, then (as the writer does in step 1) log-2 is started. */
    @BeforeEach
    void generationOne() throws Exception {
        dir = tmp.resolve("j");
        expected = new HashMap<>();
        try (Journal j = Journal.open(dir)) {
            for (int i = 0; i < 20; i++) {
                Attachment a = allocated(i % 7, i);
                j.put(a);
                expected.put(a.key(), a);
            }
            j.remove(key(3));
            expected.remove(key(3));
            lastSeq = j.stats().lastSequence();
        }
    }

    private void assertOpensWithExpected() throws Exception {
        try (Journal j = Journal.open(dir)) {
            assertEquals(expected, JournalTest.toMap(j.all()));
            // and it keeps working from there
            Attachment a = allocated(100, 1);
            j.put(a);
            expected.put(a.key(), a);
        }
        try (Journal j = Journal.open(dir)) {
            assertEquals(expected, JournalTest.toMap(j.all()));
        }
    }

    private void step1NewLog(long gen) throws Exception {
        Files.write(TestData.log(dir, gen), WalFormat.header(gen, lastSeq + 1));
    }

    private void step2Tmp(long gen, boolean complete) throws Exception {
        Path tmpSnap = dir.resolve(JournalFiles.snapshotName(gen) + JournalFiles.TMP_SUFFIX);
        SnapshotFormat.write(tmpSnap, gen, lastSeq, expected.values());
        if (!complete) {
            JournalCorruptionTest.truncate(tmpSnap, Files.size(tmpSnap) / 2);
        }
    }

    private void step3Rename(long gen) throws Exception {
        Files.move(dir.resolve(JournalFiles.snapshotName(gen) + JournalFiles.TMP_SUFFIX), TestData.snapshot(dir, gen));
    }

    @Test
    void crashWhileCreatingTheNewLog() throws Exception {
        for (int size : new int[] {0, 5, 32}) {
            byte[] h = WalFormat.header(2, lastSeq + 1);
            // a new log is written under a temporary name and renamed into place with its header
            Files.write(
                    dir.resolve(JournalFiles.logName(2) + JournalFiles.TMP_SUFFIX),
                    size == 32 ? new byte[32] : java.util.Arrays.copyOf(h, size));
            try (Journal j = Journal.open(dir)) {
                assertEquals(expected, JournalTest.toMap(j.all()));
                assertEquals(1, j.stats().generation(), "the half-created log-2 is removed");
                assertEquals(1, j.stats().filesRemovedAtOpen());
            }
        }
        assertOpensWithExpected();
    }

    @Test
    void crashAfterTheNewLogBeforeAnySnapshot() throws Exception {
        step1NewLog(2);
        try (Journal j = Journal.open(dir)) {
            assertEquals(expected, JournalTest.toMap(j.all()));
            assertEquals(2, j.stats().generation(), "writes continue in log-2");
            Attachment a = allocated(50, 50);
            j.put(a);
            expected.put(a.key(), a);
        }
        assertEquals(List.of("LOCK", JournalFiles.logName(1), JournalFiles.logName(2)), TestData.names(dir));
        assertOpensWithExpected();
    }

    @Test
    void crashWhileWritingTheSnapshot() throws Exception {
        step1NewLog(2);
        step2Tmp(2, false);
        try (Journal j = Journal.open(dir)) {
            assertEquals(expected, JournalTest.toMap(j.all()));
            assertEquals(1, j.stats().filesRemovedAtOpen(), "the unfinished snapshot is removed");
        }
        assertFalse(Files.exists(dir.resolve(JournalFiles.snapshotName(2) + JournalFiles.TMP_SUFFIX)));
        assertOpensWithExpected();
    }

    @Test
    void crashAfterTheSnapshotWasFsyncedBeforeTheRename() throws Exception {
        step1NewLog(2);
        step2Tmp(2, true);
        try (Journal j = Journal.open(dir)) {
            assertEquals(expected, JournalTest.toMap(j.all()));
        }
        assertEquals(List.of("LOCK", JournalFiles.logName(1), JournalFiles.logName(2)), TestData.names(dir));
        assertOpensWithExpected();
    }

    @Test
    void crashAfterTheRenameBeforeTheOldLogWasDeleted() throws Exception {
        step1NewLog(2);
        // a marker only the snapshot holds: proves the state comes from snapshot-2, not log-1
        Attachment marker = allocated(77, 77);
        expected.put(marker.key(), marker);
        step2Tmp(2, true);
        step3Rename(2);
        try (Journal j = Journal.open(dir)) {
            assertEquals(expected, JournalTest.toMap(j.all()));
            assertEquals(1, j.stats().filesRemovedAtOpen(), "log-1 is superseded");
        }
        assertEquals(List.of("LOCK", JournalFiles.logName(2), JournalFiles.snapshotName(2)), TestData.names(dir));
        assertOpensWithExpected();
    }

    @Test
    void crashInTheSecondCompactionWithOlderFilesLeft() throws Exception {
        // a committed generation 2 (snapshot-2 + log-2 with records) ...
        step1NewLog(2);
        step2Tmp(2, true);
        step3Rename(2);
        try (Journal j = Journal.open(dir)) {
            for (int i = 0; i < 5; i++) {
                Attachment a = allocated(200 + i, i);
                j.put(a);
                expected.put(a.key(), a);
            }
            lastSeq = j.stats().lastSequence();
        }
        // ... then compaction 2 -> 3 committed, but snapshot-2 and log-2 not yet deleted
        step1NewLog(3);
        step2Tmp(3, true);
        step3Rename(3);
        try (Journal j = Journal.open(dir)) {
            assertEquals(expected, JournalTest.toMap(j.all()));
            assertEquals(2, j.stats().filesRemovedAtOpen());
            assertEquals(3, j.stats().generation());
        }
        assertEquals(List.of("LOCK", JournalFiles.logName(3), JournalFiles.snapshotName(3)), TestData.names(dir));
        assertOpensWithExpected();
    }

    @Test
    void deletionOfOldFilesHalfDone() throws Exception {
        step1NewLog(2);
        step2Tmp(2, true);
        step3Rename(2);
        try (Journal j = Journal.open(dir)) {
            Attachment a = allocated(300, 1);
            j.put(a);
            expected.put(a.key(), a);
            lastSeq = j.stats().lastSequence();
        }
        step1NewLog(3);
        step2Tmp(3, true);
        step3Rename(3);
        Files.delete(TestData.log(dir, 2)); // step 4 deleted log-2 but not snapshot-2
        assertOpensWithExpected();
    }

    @Test
    void snapshotWithoutItsLogIsCorruption() throws Exception {
        // cannot happen (log-(G+1) is fsynced before the snapshot is written): it means a lost file
        step2Tmp(2, true);
        step3Rename(2);
        JournalCorruptedException e = assertThrows(JournalCorruptedException.class, () -> Journal.open(dir));
        assertTrue(e.getMessage().contains("missing"), e.getMessage());
    }

    @Test
    void realCompactionsLeaveOneSnapshotAndOneLog() throws Exception {
        Journal j = Journal.open(dir, new JournalOptions(1));
        for (int i = 0; i < 30; i++) {
            Attachment a = allocated(i % 11, 1000 + i);
            j.put(a);
            expected.put(a.key(), a);
        }
        // A log is rotated only while no snapshot is being written: on a busy host one snapshot
        // may outlast all 30 puts. Go on writing (bounded) until a second compaction has run.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        for (int i = 30; j.stats().compactions() < 2 && System.nanoTime() < deadline; i++) {
            Attachment a = allocated(i % 11, 1000 + i);
            j.put(a);
            expected.put(a.key(), a);
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20)); // lets the snapshot thread run
        }
        j.close();
        long gen = j.stats().generation();
        assertTrue(j.stats().compactions() >= 2, j.stats().toString());
        assertEquals(List.of("LOCK", JournalFiles.logName(gen), JournalFiles.snapshotName(gen)), TestData.names(dir));
        assertOpensWithExpected();
    }
}
