package infobloxcni.store;

import static infobloxcni.store.TestData.allocated;
import static infobloxcni.store.TestData.key;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What open() does with damaged files. Rule: a bad tail of the newest log with nothing committed
 * after it is a torn (never acknowledged) write and is cut off; everything else is corruption.
 */
class JournalCorruptionTest {
    @TempDir
    Path tmp;

    private Path template;
    private Path work;
    /** State after each record: states.get(n) = state after the first n records. */
    private final List<Map<AttachmentKey, Attachment>> states = new java.util.ArrayList<>();

    private List<Integer> frames;
    private byte[] logBytes;

    private static final int RECORDS = 101;

    @BeforeEach
    void buildTemplate() throws Exception {
        template = tmp.resolve("template");
        work = tmp.resolve("work");
        Map<AttachmentKey, Attachment> state = new HashMap<>();
        states.add(Map.copyOf(state));
        try (Journal j = Journal.open(template, new JournalOptions(Long.MAX_VALUE))) {
            for (int n = 0; n < RECORDS; n++) {
                int k = n % 10;
                if (n % 9 == 8 && state.containsKey(key(k))) {
                    j.remove(key(k));
                    state.remove(key(k));
                } else {
                    // the last record replaces an existing value: dropping it must bring the old one back
                    Attachment a = allocated(k, n);
                    j.put(a);
                    state.put(a.key(), a);
                }
                states.add(Map.copyOf(state));
            }
        }
        logBytes = Files.readAllBytes(TestData.log(template, 1));
        frames = TestData.frameOffsets(logBytes);
        // every record was a separate put/remove, and each really wrote a record (removes of present keys)
        assertEquals(RECORDS, frames.size());
        assertTrue(states.get(RECORDS - 1).containsKey(key((RECORDS - 1) % 10)));
    }

    private Path freshCopy() throws IOException {
        TestData.deleteTree(work);
        TestData.copyDir(template, work);
        return TestData.log(work, 1);
    }

    private Map<AttachmentKey, Attachment> openState(Path dir) throws JournalCorruptedException {
        try (Journal j = Journal.open(dir)) {
            return JournalTest.toMap(j.all());
        }
    }

    @Test
    void truncationAtEveryOffsetOfTheLastRecordDropsIt() throws Exception {
        int last = frames.get(RECORDS - 1);
        for (int cut = last; cut < logBytes.length; cut++) {
            Path log = freshCopy();
            truncate(log, cut);
            try (Journal j = Journal.open(work)) {
                assertEquals(states.get(RECORDS - 1), JournalTest.toMap(j.all()), "cut at " + cut);
                assertEquals(cut - last, j.stats().tornBytesDropped());
                assertEquals(RECORDS - 1, j.stats().lastSequence());
                if ((cut - last) % 16 == 5) {
                    j.put(allocated(42, 42)); // and the journal continues cleanly after the cut
                }
            }
            if ((cut - last) % 16 == 5) {
                assertEquals(Optional.of(allocated(42, 42)), read(work, key(42)));
            }
        }
    }

    @Test
    void truncationInTheMiddleDropsTheTail() throws Exception {
        for (int rec : new int[] {0, 1, RECORDS / 2, RECORDS - 2}) {
            for (int delta : new int[] {0, 3, 9, 20}) {
                int cut = frames.get(rec) + delta;
                Path log = freshCopy();
                truncate(log, cut);
                assertEquals(states.get(rec), openState(work), "cut at " + cut);
            }
        }
        Path log = freshCopy();
        truncate(log, WalFormat.HEADER_SIZE);
        assertEquals(Map.of(), openState(work));
    }

    @Test
    void anyFlippedByteInAMiddleRecordIsCorruption() throws Exception {
        int mid = RECORDS / 2;
        int start = frames.get(mid);
        int end = frames.get(mid + 1);
        for (int pos = start; pos < end; pos++) {
            Path log = freshCopy();
            flip(log, pos);
            JournalCorruptedException e =
                    assertThrows(JournalCorruptedException.class, () -> Journal.open(work), "flip at " + pos);
            assertEquals(log, e.file());
            assertEquals(start, e.offset(), e.getMessage());
            assertTrue(e.getMessage().contains("later (already committed) batch"), e.getMessage());
        }
    }

    @Test
    void flippedByteInTheLastRecordIsATornTail() throws Exception {
        int last = frames.get(RECORDS - 1);
        for (int pos = last; pos < logBytes.length; pos += pos < last + 24 ? 1 : 5) {
            Path log = freshCopy();
            flip(log, pos);
            assertEquals(states.get(RECORDS - 1), openState(work), "flip at " + pos);
        }
    }

    @Test
    void zeroedPageInTheMiddleIsCorruption() throws Exception {
        assertTrue(logBytes.length > 3 * 4096, "log of " + logBytes.length + " bytes");
        Path log = freshCopy();
        try (FileChannel ch = FileChannel.open(log, StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.allocate(4096), 4096);
        }
        JournalCorruptedException e = assertThrows(JournalCorruptedException.class, () -> Journal.open(work));
        assertTrue(e.offset() >= 4096 - 1000 && e.offset() <= 8192, e.getMessage());
    }

    @Test
    void zeroedTailIsATornWrite() throws Exception {
        Path log = freshCopy();
        int last = frames.get(RECORDS - 2);
        try (FileChannel ch = FileChannel.open(log, StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.allocate(logBytes.length - last + 4096), last);
        }
        try (Journal j = Journal.open(work)) {
            assertEquals(states.get(RECORDS - 2), JournalTest.toMap(j.all()));
            assertEquals(Files.size(log), frames.get(RECORDS - 2).longValue());
        }
    }

    @Test
    void unknownRecordVersionIsCorruptionEvenAtTheEnd() throws Exception {
        for (int rec : new int[] {RECORDS / 2, RECORDS - 1}) {
            Path log = freshCopy();
            byte[] d = Files.readAllBytes(log);
            int off = frames.get(rec);
            d[off + JournalFiles.FRAME_OVERHEAD] = 9;
            JournalFiles.sealFrame(d, off, JournalFiles.getInt(d, off)); // valid CRC, unknown version
            Files.write(log, d);
            JournalCorruptedException e = assertThrows(JournalCorruptedException.class, () -> Journal.open(work));
            assertEquals(off, e.offset());
            assertTrue(e.getMessage().contains("unsupported record version 9"), e.getMessage());
        }
    }

    @Test
    void badLogHeaderIsCorruption() throws Exception {
        for (int pos : new int[] {0, 8, 13, 21, 29}) {
            Path log = freshCopy();
            flip(log, pos);
            JournalCorruptedException e = assertThrows(JournalCorruptedException.class, () -> Journal.open(work));
            assertEquals(log, e.file());
        }
    }

    @Test
    void emptyOrPartialLogFromAKillDuringCreationOpensEmpty() throws Exception {
        for (int size : new int[] {0, 1, 17, 31, 32}) {
            TestData.deleteTree(work);
            Files.createDirectories(work);
            // a log is created under a temporary name and gets its own once its header is durable
            Path creating = work.resolve(JournalFiles.logName(1) + JournalFiles.TMP_SUFFIX);
            Files.write(creating, Arrays.copyOf(WalFormat.header(1, 1), size == 32 ? 0 : size));
            if (size == 32) {
                Files.write(creating, new byte[32]); // size extended, data never written
            }
            try (Journal j = Journal.open(work)) {
                assertTrue(j.all().isEmpty());
                j.put(allocated(1, 1));
            }
            assertEquals(Map.of(key(1), allocated(1, 1)), openState(work));
        }
    }

    @Test
    void corruptSnapshotIsCorruption() throws Exception {
        Path dir = tmp.resolve("snap");
        Journal j = Journal.open(dir, new JournalOptions(1));
        for (int i = 0; i < 5; i++) {
            j.put(allocated(i, i));
        }
        j.close();
        Path snap = TestData.snapshot(dir, j.stats().generation());
        assertTrue(Files.exists(snap));
        byte[] good = Files.readAllBytes(snap);
        Map<AttachmentKey, Attachment> expected = openState(dir);
        Path copy = tmp.resolve("snapcopy");
        for (int pos = 0; pos < good.length; pos += Math.max(1, good.length / 97)) {
            TestData.deleteTree(copy);
            TestData.copyDir(dir, copy);
            flip(copy.resolve(snap.getFileName()), pos);
            assertThrows(JournalCorruptedException.class, () -> Journal.open(copy), "flip at " + pos);
        }
        for (int len : new int[] {0, 10, 40, good.length / 2, good.length - 1}) {
            TestData.deleteTree(copy);
            TestData.copyDir(dir, copy);
            truncate(copy.resolve(snap.getFileName()), len);
            assertThrows(JournalCorruptedException.class, () -> Journal.open(copy), "truncated to " + len);
        }
        TestData.deleteTree(copy);
        TestData.copyDir(dir, copy);
        Files.write(copy.resolve(snap.getFileName()), new byte[] {1}, StandardOpenOption.APPEND);
        assertThrows(JournalCorruptedException.class, () -> Journal.open(copy), "extended");
        assertEquals(expected, openState(dir), "the original is fine");
    }

    @Test
    void missingFilesAreCorruption() throws Exception {
        Path dir = tmp.resolve("m");
        Journal j = Journal.open(dir, new JournalOptions(1));
        for (int i = 0; i < 4; i++) {
            j.put(allocated(i, i));
        }
        j.close();
        long gen = j.stats().generation();
        // the snapshot of the current generation gone: its log does not start at sequence 1
        TestData.deleteTree(work);
        TestData.copyDir(dir, work);
        Files.delete(TestData.snapshot(work, gen));
        JournalCorruptedException e = assertThrows(JournalCorruptedException.class, () -> Journal.open(work));
        assertTrue(e.getMessage().contains("missing"), e.getMessage());
        // the log of the snapshot gone
        TestData.deleteTree(work);
        TestData.copyDir(dir, work);
        Files.delete(TestData.log(work, gen));
        e = assertThrows(JournalCorruptedException.class, () -> Journal.open(work));
        assertTrue(e.getMessage().contains("missing"), e.getMessage());
    }

    @Test
    void missingMiddleLogIsCorruption() throws Exception {
        // three logs, no snapshot (compactions that never finished): remove the middle one
        TestData.deleteTree(work);
        TestData.copyDir(template, work);
        try (Journal j = Journal.open(work)) {
            j.put(allocated(1, 100));
        }
        Files.write(TestData.log(work, 2), WalFormat.header(2, RECORDS + 2));
        try (Journal j = Journal.open(work)) {
            j.put(allocated(1, 101));
        }
        Files.write(TestData.log(work, 3), WalFormat.header(3, RECORDS + 3));
        try (Journal j = Journal.open(work)) {
            j.put(allocated(1, 102));
            assertEquals(3, j.stats().generation());
        }
        assertEquals(Optional.of(allocated(1, 102)), read(work, key(1)));
        Files.delete(TestData.log(work, 2));
        JournalCorruptedException e = assertThrows(JournalCorruptedException.class, () -> Journal.open(work));
        assertTrue(e.getMessage().contains("missing: log generation 2"), e.getMessage());
    }

    @Test
    void damagedTailOfALogThatIsNotTheNewestIsCorruption() throws Exception {
        Path log = freshCopy();
        Files.write(TestData.log(work, 2), WalFormat.header(2, RECORDS + 1)); // compaction step 1 done
        assertEquals(states.get(RECORDS), openState(work));
        truncate(log, logBytes.length - 1); // the last record of log-1 was fsynced before log-2 existed
        JournalCorruptedException e = assertThrows(JournalCorruptedException.class, () -> Journal.open(work));
        assertEquals(log, e.file());
        assertEquals(frames.get(RECORDS - 1).longValue(), e.offset());
        assertTrue(e.getMessage().contains("not the newest"), e.getMessage());
    }

    @Test
    void quarantineKeepsTheFilesAndOpenStartsEmpty() throws Exception {
        Path log = freshCopy();
        flip(log, frames.get(3) + 12);
        assertThrows(JournalCorruptedException.class, () -> Journal.open(work));
        byte[] damaged = Files.readAllBytes(log);
        Files.write(work.resolve(JournalFiles.snapshotName(7) + ".tmp"), new byte[] {1, 2, 3});
        Path q = Journal.quarantine(work);
        assertEquals(work, q.getParent());
        assertTrue(q.getFileName().toString().matches("corrupt-\\d{8}T\\d{6}\\.\\d{3}Z"), q.toString());
        assertEquals(List.of(JournalFiles.logName(1), JournalFiles.snapshotName(7) + ".tmp"), TestData.names(q));
        assertTrue(Arrays.equals(damaged, Files.readAllBytes(q.resolve(JournalFiles.logName(1)))));
        try (Journal j = Journal.open(work)) {
            assertTrue(j.all().isEmpty());
            j.put(allocated(1, 1));
        }
        assertEquals(Map.of(key(1), allocated(1, 1)), openState(work));
        Path q2 = Journal.quarantine(work);
        assertFalse(q.equals(q2));
        assertEquals(Map.of(), openState(work));
    }

    static Optional<Attachment> read(Path dir, AttachmentKey k) throws JournalCorruptedException {
        try (Journal j = Journal.open(dir)) {
            return j.get(k);
        }
    }

    static void truncate(Path p, long size) throws IOException {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
            ch.truncate(size);
        }
    }

    static void flip(Path p, int pos) throws IOException {
        byte[] d = Files.readAllBytes(p);
        d[pos] ^= 0x41;
        Files.write(p, d);
    }
}
