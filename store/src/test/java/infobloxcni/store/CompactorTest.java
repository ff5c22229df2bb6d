package infobloxcni.store;

import static infobloxcni.store.TestData.allocated;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link Compactor} alone: rotation, snapshot, commit by rename, deletion; and its failures. */
class CompactorTest {
    @TempDir
    Path tmp;

    private Path dir;
    private final List<Attachment> records = List.of(allocated(1, 1), allocated(2, 1));

    /** Generation 1: two records, seq 1 and 2. */
    @BeforeEach
    void generationOne() throws Exception {
        dir = Files.createDirectory(tmp.resolve("j"));
        Files.write(TestData.log(dir, 1), TestData.logImage(1, 1, records.get(0), records.get(1)));
    }

    @Test
    void dueOnlyAtTheThresholdAndOneAtATime() {
        Compactor c = new Compactor(dir, 100);
        try {
            assertFalse(c.due(99));
            assertTrue(c.due(100));
            assertTrue(c.due(1000));
        } finally {
            c.close();
        }
    }

    @Test
    void rotatesSnapshotsAndDeletesWhatTheSnapshotSupersedes() throws Exception {
        Compactor c = new Compactor(dir, 1);
        try (FileChannel log2 = c.startGeneration(2, 3)) {
            assertArrayEquals(WalFormat.header(2, 3), Files.readAllBytes(TestData.log(dir, 2)));
            assertEquals(WalFormat.HEADER_SIZE, log2.size());
            c.snapshotInBackground(2, 2, records);
        }
        c.close(); // waits for the snapshot
        assertEquals(1, c.compactions());
        assertEquals(0, c.failures());
        assertEquals(List.of(JournalFiles.logName(2), JournalFiles.snapshotName(2)), TestData.names(dir));
        SnapshotFormat.Snapshot s = SnapshotFormat.read(TestData.snapshot(dir, 2), 2);
        assertEquals(2, s.lastSeq());
        assertEquals(Map.of(records.get(0).key(), records.get(0), records.get(1).key(), records.get(1)), s.records());
        // what it left is what recovery reads
        JournalRecovery.Recovered r = JournalRecovery.recover(dir);
        assertEquals(s.records(), r.state());
        assertEquals(2, r.lastSeq());
        assertEquals(2, r.generation());
        assertEquals(List.of(), r.removed());
    }

    @Test
    void aFailedSnapshotIsCountedAndKeepsTheLogs() throws Exception {
        // something in the way of the .tmp: writing it fails
        Path blocker = dir.resolve(JournalFiles.snapshotName(2) + JournalFiles.TMP_SUFFIX);
        Files.createDirectories(blocker.resolve("x"));
        Compactor c = new Compactor(dir, 1);
        c.startGeneration(2, 3).close();
        c.snapshotInBackground(2, 2, records);
        c.close();
        assertEquals(0, c.compactions());
        assertEquals(1, c.failures());
        assertTrue(Files.exists(TestData.log(dir, 1)), "the logs still hold everything");
        assertFalse(Files.exists(TestData.snapshot(dir, 2)));
        TestData.deleteTree(blocker);
        assertEquals(2, JournalRecovery.recover(dir).lastSeq());
    }

    @Test
    void aNewLogThatCannotBeCreatedIsCountedAndTheWriterStays() {
        Compactor c = new Compactor(tmp.resolve("no-such-directory"), 1);
        try {
            assertNull(c.startGeneration(2, 3));
            assertEquals(1, c.failures());
        } finally {
            c.close();
        }
    }

    @Test
    void aNewLogThatIsLeftBehindStopsTheWriter() throws Exception {
        Files.write(TestData.log(dir, 2), new byte[0]); // cannot be created, and is there
        Compactor c = new Compactor(dir, 1);
        try {
            JournalException e = assertThrows(JournalException.class, () -> c.startGeneration(2, 3));
            assertTrue(e.getMessage().contains("half-created"), e.getMessage());
            assertEquals(1, c.failures());
        } finally {
            c.close();
        }
    }
}
