package infobloxcni.store;

import static infobloxcni.store.TestData.allocated;
import static infobloxcni.store.TestData.key;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link JournalRecovery} alone, on directories of files written by hand: no lock, no threads. */
class JournalRecoveryTest {
    @TempDir
    Path tmp;

    private Path dir;

    @BeforeEach
    void dir() throws Exception {
        dir = Files.createDirectory(tmp.resolve("j"));
    }

    @Test
    void anEmptyDirectoryGetsLogGenerationOne() throws Exception {
        JournalRecovery.Recovered r = JournalRecovery.recover(dir);
        assertEquals(Map.of(), r.state());
        assertEquals(0, r.lastSeq());
        assertEquals(1, r.nextSeq());
        assertEquals(1, r.generation());
        assertEquals(TestData.log(dir, 1), r.log());
        assertEquals(WalFormat.HEADER_SIZE, r.logSize());
        assertArrayEquals(WalFormat.header(1, 1), Files.readAllBytes(r.log()), "durable header");
        assertEquals(List.of(), r.removed());
        assertEquals(0, r.tornBytes());
        assertNull(r.tornReason());
    }

    @Test
    void snapshotPlusLaterLogsAndTheLeftoversOfACompactionAreRemoved() throws Exception {
        Attachment a = allocated(1, 1);
        Attachment b = allocated(2, 1);
        Attachment c = allocated(3, 1);
        Attachment d = allocated(4, 1);
        // generation 1 (superseded), snapshot 2 = state after seq 3, log 2 from seq 4, a .tmp of 3
        Files.write(TestData.log(dir, 1), TestData.logImage(1, 1, a, b, c));
        SnapshotFormat.write(TestData.snapshot(dir, 2), 2, 3, List.of(a, b, c));
        byte[] log2 = TestData.logImage(2, 4, d, a.key());
        Files.write(TestData.log(dir, 2), log2);
        Path tmpSnap = dir.resolve(JournalFiles.snapshotName(3) + JournalFiles.TMP_SUFFIX);
        Files.write(tmpSnap, new byte[] {1, 2, 3});

        JournalRecovery.Recovered r = JournalRecovery.recover(dir);
        assertEquals(Map.of(b.key(), b, c.key(), c, d.key(), d), r.state());
        assertEquals(5, r.lastSeq());
        assertEquals(2, r.generation());
        assertEquals(TestData.log(dir, 2), r.log());
        assertEquals(log2.length, r.logSize());
        assertEquals(List.of(tmpSnap, TestData.log(dir, 1)), r.removed());
        assertEquals(List.of(JournalFiles.logName(2), JournalFiles.snapshotName(2)), TestData.names(dir));
    }

    @Test
    void aTornTailIsCutOnDiskAndReported() throws Exception {
        byte[] whole = TestData.logImage(1, 1, allocated(1, 1), allocated(2, 1), allocated(3, 1));
        List<Integer> frames = TestData.frameOffsets(whole);
        int cut = frames.get(2) + 11; // the third record half-written
        Path log = TestData.log(dir, 1);
        Files.write(log, java.util.Arrays.copyOf(whole, cut));

        JournalRecovery.Recovered r = JournalRecovery.recover(dir);
        assertEquals(Map.of(key(1), allocated(1, 1), key(2), allocated(2, 1)), r.state());
        assertEquals(2, r.lastSeq());
        assertEquals(cut - frames.get(2), r.tornBytes());
        assertTrue(r.tornReason().contains("at offset " + frames.get(2) + " of " + log), r.tornReason());
        assertEquals(frames.get(2).longValue(), r.logSize());
        assertEquals(r.logSize(), Files.size(log), "cut on disk before anything is appended");
        assertEquals(List.of(), r.removed());
    }

    @Test
    void aHalfCreatedNewestLogIsRemoved() throws Exception {
        byte[] log1 = TestData.logImage(1, 1, allocated(1, 1));
        Files.write(TestData.log(dir, 1), log1);
        Path halfCreated = dir.resolve(JournalFiles.logName(2) + JournalFiles.TMP_SUFFIX);
        Files.write(halfCreated, java.util.Arrays.copyOf(WalFormat.header(2, 2), 10));

        JournalRecovery.Recovered r = JournalRecovery.recover(dir);
        assertEquals(1, r.generation());
        assertEquals(log1.length, r.logSize());
        assertEquals(List.of(halfCreated), r.removed());
        assertEquals(List.of(JournalFiles.logName(1)), TestData.names(dir));
    }

    /**
     * A log under its own name always had its whole header (it is renamed into place after the
     * header is on disk), so one without is damage, never a leftover: the only log of a journal cut
     * to 10 bytes used to be deleted as "half-created", and the pending DELs it held with it.
     */
    @Test
    void aLogCutInsideItsHeaderIsCorruptionNotALeftover() throws Exception {
        for (boolean only : new boolean[] {true, false}) {
            TestData.deleteContents(dir);
            if (!only) Files.write(TestData.log(dir, 1), TestData.logImage(1, 1, allocated(1, 1)));
            long gen = only ? 1 : 2;
            Path log = TestData.log(dir, gen);
            Files.write(log, java.util.Arrays.copyOf(TestData.logImage(gen, gen, allocated(2, 1)), 10));

            JournalCorruptedException e =
                    assertThrows(JournalCorruptedException.class, () -> JournalRecovery.recover(dir));
            assertEquals(log, e.file());
            assertTrue(e.getMessage().contains("header incomplete"), e.getMessage());
            assertEquals(10, Files.size(log), "left as it was, for the quarantine");
        }
    }

    @Test
    void corruptionLeavesTheLogAsItWas() throws Exception {
        byte[] d = TestData.logImage(1, 1, allocated(1, 1), allocated(2, 1), allocated(3, 1));
        int mid = TestData.frameOffsets(d).get(1);
        d[mid + 12] ^= 0x41;
        Path log = TestData.log(dir, 1);
        Files.write(log, d);

        JournalCorruptedException e = assertThrows(JournalCorruptedException.class, () -> JournalRecovery.recover(dir));
        assertEquals(log, e.file());
        assertEquals(mid, e.offset());
        assertArrayEquals(d, Files.readAllBytes(log), "nothing cut, nothing deleted");
    }

    @Test
    void recoveringTwiceFindsTheSameAndRemovesNothingMore() throws Exception {
        byte[] whole = TestData.logImage(1, 1, allocated(1, 1), allocated(2, 2), key(1));
        Files.write(TestData.log(dir, 1), java.util.Arrays.copyOf(whole, whole.length - 3));
        Files.write(dir.resolve(JournalFiles.snapshotName(2) + JournalFiles.TMP_SUFFIX), new byte[7]);

        JournalRecovery.Recovered first = JournalRecovery.recover(dir);
        JournalRecovery.Recovered second = JournalRecovery.recover(dir);
        assertEquals(Map.of(key(1), allocated(1, 1), key(2), allocated(2, 2)), first.state());
        assertEquals(first.state(), second.state());
        assertEquals(first.lastSeq(), second.lastSeq());
        assertEquals(first.logSize(), second.logSize());
        assertEquals(1, first.removed().size());
        assertEquals(List.of(), second.removed());
        assertEquals(0, second.tornBytes());
    }
}
