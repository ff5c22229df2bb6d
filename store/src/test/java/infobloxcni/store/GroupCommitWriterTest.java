package infobloxcni.store;

import static infobloxcni.store.TestData.allocated;
import static infobloxcni.store.TestData.key;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CyclicBarrier;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link GroupCommitWriter} alone on a fresh log: batching, durability, refusal after close. */
class GroupCommitWriterTest {
    @TempDir
    Path tmp;

    private Path dir;
    private final ConcurrentHashMap<AttachmentKey, Attachment> state = new ConcurrentHashMap<>();

    @BeforeEach
    void freshLog() throws Exception {
        dir = Files.createDirectory(tmp.resolve("j"));
    }

    private GroupCommitWriter writer(Compactor c) throws Exception {
        return new GroupCommitWriter(dir, WalFormat.create(dir, 1, 1), 1, WalFormat.HEADER_SIZE, 1, state, c);
    }

    private static void put(GroupCommitWriter w, Attachment a) {
        w.append(WalFormat.TYPE_PUT, a.key(), a, AttachmentCodec.encodeAttachment(a));
    }

    @Test
    void concurrentAppendsShareFsyncsAndTheFileHoldsExactlyTheState() throws Exception {
        Compactor c = new Compactor(dir, Long.MAX_VALUE);
        GroupCommitWriter w = writer(c);
        int threads = 8;
        int perThread = 100;
        CyclicBarrier start = new CyclicBarrier(threads);
        List<Thread> ts = new ArrayList<>();
        List<Throwable> errors = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int tt = t;
            ts.add(Thread.ofPlatform().start(() -> {
                try {
                    start.await();
                    for (int i = 0; i < perThread; i++) {
                        Attachment a = allocated(tt * 1000 + i, i);
                        put(w, a);
                        if (!a.equals(state.get(a.key()))) {
                            throw new AssertionError("applied after the fsync, before returning: " + a.key());
                        }
                    }
                } catch (Throwable e) {
                    synchronized (errors) {
                        errors.add(e);
                    }
                }
            }));
        }
        for (Thread t : ts) {
            t.join();
        }
        assertTrue(errors.isEmpty(), errors.toString());
        assertTrue(w.close());
        c.close();
        assertEquals(threads * perThread, w.commits());
        assertEquals(threads * perThread, w.lastSequence());
        assertTrue(w.fsyncs() < w.commits(), "group commit: " + w.fsyncs() + " fsyncs");
        byte[] d = Files.readAllBytes(TestData.log(dir, 1));
        assertEquals(w.logSize(), d.length);
        Map<AttachmentKey, Attachment> replayed = new HashMap<>();
        WalFormat.Replay r = WalFormat.replay(TestData.log(dir, 1), d, 1, 1, true, replayed);
        assertFalse(r.torn());
        assertEquals(threads * perThread, r.lastSeq());
        assertEquals(state, replayed);
    }

    @Test
    void removesAndRefusalAfterClose() throws Exception {
        Compactor c = new Compactor(dir, Long.MAX_VALUE);
        GroupCommitWriter w = writer(c);
        put(w, allocated(1, 1));
        w.append(WalFormat.TYPE_REMOVE, key(1), null, AttachmentCodec.encodeKey(key(1)));
        assertTrue(state.isEmpty());
        assertTrue(w.close());
        assertFalse(w.close(), "already closed");
        c.close();
        assertThrows(JournalException.class, w::ensureOpen);
        assertThrows(JournalException.class, () -> put(w, allocated(2, 2)));
        assertEquals(2, w.commits());
        assertFalse(w.failed());
    }

    @Test
    void rotatesBetweenBatchesWhenTheCompactorSaysSo() throws Exception {
        Compactor c = new Compactor(dir, 1);
        GroupCommitWriter w = writer(c);
        put(w, allocated(1, 1)); // crosses the threshold: log 2 from seq 2, snapshot 2 of seq 1
        assertTrue(w.close()); // the rotation follows the callers' completion: wait for the thread
        assertEquals(2, w.generation());
        assertEquals(WalFormat.HEADER_SIZE, w.logSize());
        c.close();
        assertEquals(1, c.compactions());
        assertEquals(List.of(JournalFiles.logName(2), JournalFiles.snapshotName(2)), TestData.names(dir));
        assertEquals(
                Map.of(key(1), allocated(1, 1)), JournalRecovery.recover(dir).state());
    }
}
