package infobloxcni.store;

import static infobloxcni.store.TestData.allocated;
import static infobloxcni.store.TestData.key;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CyclicBarrier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JournalTest {
    @TempDir
    Path tmp;

    private static JournalOptions noCompaction() {
        return new JournalOptions(Long.MAX_VALUE);
    }

    @Test
    void putGetRemoveAllByContainer() throws Exception {
        try (Journal j = Journal.open(tmp.resolve("j"))) {
            assertTrue(j.all().isEmpty());
            for (int i = 0; i < 10; i++) {
                j.put(allocated(i, 1));
            }
            assertEquals(Optional.of(allocated(3, 1)), j.get(key(3)));
            assertEquals(10, j.all().size());
            // key(i) has containerId ctr-(i/2): ctr-2 holds i = 4 and 5
            List<Attachment> c2 = j.byContainer("ctr-2");
            assertEquals(2, c2.size());
            assertTrue(c2.contains(allocated(4, 1)) && c2.contains(allocated(5, 1)));
            assertTrue(j.byContainer("nope").isEmpty());

            j.put(allocated(3, 2));
            assertEquals(Optional.of(allocated(3, 2)), j.get(key(3)));
            j.remove(key(3));
            assertEquals(Optional.empty(), j.get(key(3)));
            j.remove(key(3)); // absent: no-op
            j.remove(new AttachmentKey("x", "y", "z"));
            assertEquals(9, j.all().size());
            JournalStats s = j.stats();
            assertEquals(9, s.records());
            assertEquals(12, s.commits(), "10 puts, 1 replace, 1 real remove");
            assertEquals(12, s.lastSequence());
        }
    }

    @Test
    void allIsSortedByKey() throws Exception {
        try (Journal j = Journal.open(tmp.resolve("j"))) {
            for (int i = 20; i >= 0; i--) {
                j.put(allocated(i, 0));
            }
            List<Attachment> all = j.all();
            for (int i = 1; i < all.size(); i++) {
                AttachmentKey a = all.get(i - 1).key();
                AttachmentKey b = all.get(i).key();
                int c = a.network().compareTo(b.network());
                if (c == 0) {
                    c = a.containerId().compareTo(b.containerId());
                }
                if (c == 0) {
                    c = a.ifName().compareTo(b.ifName());
                }
                assertTrue(c < 0, a + " before " + b);
            }
        }
    }

    @Test
    void reopenPersists() throws Exception {
        Path dir = tmp.resolve("j");
        try (Journal j = Journal.open(dir)) {
            for (int i = 0; i < 50; i++) {
                j.put(allocated(i, i));
            }
            for (int i = 0; i < 50; i += 5) {
                j.remove(key(i));
            }
        }
        try (Journal j = Journal.open(dir)) {
            assertEquals(40, j.all().size());
            for (int i = 0; i < 50; i++) {
                assertEquals(i % 5 == 0 ? Optional.empty() : Optional.of(allocated(i, i)), j.get(key(i)));
            }
            assertEquals(60, j.stats().lastSequence());
            j.put(allocated(0, 99));
            assertEquals(61, j.stats().lastSequence());
        }
        try (Journal j = Journal.open(dir)) {
            assertEquals(Optional.of(allocated(0, 99)), j.get(key(0)));
        }
    }

    @Test
    void everyStateAndNullsRoundTrip() throws Exception {
        Path dir = tmp.resolve("j");
        Instant t = Instant.ofEpochSecond(1_700_000_000L, 999_999_999);
        List<Attachment> values = new ArrayList<>();
        int i = 0;
        for (AttachmentState st : AttachmentState.values()) {
            AttachmentKey k = new AttachmentKey("net", "c" + i++, "eth0");
            values.add(new Attachment(k, st, null, 0, null, null, null, null, null, null, null, 0, null));
            k = new AttachmentKey("net", "c" + i++, "eth0");
            values.add(Attachment.pending(k, "default", "aa:bb:cc:00:11:22", t).withState(st));
            k = new AttachmentKey("net-ü", "c" + i++, "net1");
            values.add(new Attachment(
                    k,
                    st,
                    "fd00::1234",
                    128,
                    "fd00::1",
                    "record:host/ZG5z\u00e9\u6f22",
                    "view \u2603",
                    "fd00::/64",
                    "AA:BB",
                    t,
                    Instant.EPOCH,
                    Integer.MAX_VALUE,
                    "error with\nnewline and \uD83D\uDE00 emoji"));
            k = new AttachmentKey("n", "c" + i++, "e");
            values.add(new Attachment(k, st, "", 0, "", "", "", "", "", Instant.MIN, Instant.MAX, 0, ""));
        }
        try (Journal j = Journal.open(dir)) {
            for (Attachment a : values) {
                j.put(a);
                assertEquals(Optional.of(a), j.get(a.key()));
            }
        }
        try (Journal j = Journal.open(dir)) {
            for (Attachment a : values) {
                assertEquals(Optional.of(a), j.get(a.key()), "after log replay");
            }
        }
        // and through a snapshot
        Journal c = Journal.open(dir, new JournalOptions(1));
        c.put(allocated(1, 1)); // crosses the threshold: compaction
        c.close(); // waits for the snapshot
        assertEquals(1, c.stats().compactions());
        assertTrue(Files.exists(TestData.snapshot(dir, 2)));
        try (Journal j = Journal.open(dir)) {
            for (Attachment a : values) {
                assertEquals(Optional.of(a), j.get(a.key()), "after snapshot load");
            }
        }
    }

    @Test
    void rejectsUnpairedSurrogatesAndHugeRecords() throws Exception {
        try (Journal j = Journal.open(tmp.resolve("j"))) {
            Attachment bad = allocated(1, 1).withError("x\uD800y");
            assertThrows(IllegalArgumentException.class, () -> j.put(bad));
            Attachment huge = allocated(1, 1).withError("x".repeat(2 << 20));
            assertThrows(IllegalArgumentException.class, () -> j.put(huge));
            assertEquals(0, j.stats().commits());
            j.put(allocated(1, 1).withError("y".repeat(500_000)));
        }
    }

    @Test
    void compactionKeepsDataIdentical() throws Exception {
        Path dir = tmp.resolve("j");
        Map<AttachmentKey, Attachment> expected = new HashMap<>();
        Journal j = Journal.open(dir, new JournalOptions(4096));
        {
            for (int round = 0; round < 40; round++) {
                for (int i = 0; i < 30; i++) {
                    if ((round + i) % 7 == 0) {
                        j.remove(key(i));
                        expected.remove(key(i));
                    } else {
                        Attachment a = allocated(i, round);
                        j.put(a);
                        expected.put(a.key(), a);
                    }
                }
            }
            assertEquals(expected, toMap(j.all()));
            j.close();
            assertTrue(j.stats().compactions() >= 5, "compactions: " + j.stats());
            assertTrue(j.stats().generation() >= 6);
            assertEquals(0, j.stats().compactionFailures());
        }
        List<String> names = TestData.names(dir);
        assertEquals(3, names.size(), "one snapshot, one log, LOCK: " + names);
        try (Journal r = Journal.open(dir)) {
            assertEquals(expected, toMap(r.all()));
            assertEquals(0, r.stats().filesRemovedAtOpen());
        }
    }

    @Test
    void concurrentPutsFromEightThreadsAreDurableAndGroupCommitted() throws Exception {
        Path dir = tmp.resolve("j");
        int threads = 8;
        int perThread = 250;
        Map<AttachmentKey, Attachment> expected = new HashMap<>();
        JournalStats stats;
        Journal j = Journal.open(dir, new JournalOptions(64 << 10));
        {
            CyclicBarrier start = new CyclicBarrier(threads);
            List<Thread> ts = new ArrayList<>();
            List<Throwable> errors = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int tt = t;
                ts.add(Thread.ofPlatform().start(() -> {
                    try {
                        start.await();
                        for (int i = 0; i < perThread; i++) {
                            AttachmentKey k = new AttachmentKey("net", "ctr-" + tt + "-" + (i % 40), "eth0");
                            Attachment a = new Attachment(
                                    k,
                                    AttachmentState.ALLOCATED,
                                    "10.0." + tt + "." + i,
                                    24,
                                    null,
                                    "ref" + i,
                                    "default",
                                    null,
                                    null,
                                    TestData.T0,
                                    TestData.T0,
                                    i,
                                    null);
                            j.put(a);
                            if (!j.get(k).equals(Optional.of(a))) {
                                throw new AssertionError("read-your-write failed for " + k);
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
            for (int t = 0; t < threads; t++) {
                for (int i = perThread - 40; i < perThread; i++) {
                    AttachmentKey k = new AttachmentKey("net", "ctr-" + t + "-" + (i % 40), "eth0");
                    expected.put(k, j.get(k).orElseThrow());
                    assertEquals(i, expected.get(k).attempts());
                }
            }
            j.close();
            stats = j.stats();
        }
        System.out.println("8 threads x " + perThread + " puts: " + stats);
        assertEquals((long) threads * perThread, stats.commits());
        assertTrue(stats.fsyncs() < stats.commits(), "group commit must batch: " + stats);
        try (Journal r = Journal.open(dir)) {
            assertEquals(expected, toMap(r.all()));
        }
    }

    @Test
    void interruptedCallerStillCommitsAndKeepsItsInterrupt() throws Exception {
        Path dir = tmp.resolve("j");
        try (Journal j = Journal.open(dir)) {
            Thread.currentThread().interrupt();
            try {
                j.put(allocated(1, 1));
                assertTrue(Thread.currentThread().isInterrupted());
            } finally {
                Thread.interrupted();
            }
            j.put(allocated(2, 2)); // the channel was not closed by the interrupt
        }
        try (Journal j = Journal.open(dir)) {
            assertEquals(2, j.all().size());
        }
    }

    @Test
    void exclusiveAndClosed() throws Exception {
        Path dir = tmp.resolve("j");
        Journal j = Journal.open(dir);
        assertThrows(JournalException.class, () -> Journal.open(dir));
        assertThrows(JournalException.class, () -> Journal.quarantine(dir));
        j.put(allocated(1, 1));
        j.close();
        j.close(); // idempotent
        assertThrows(JournalException.class, () -> j.put(allocated(1, 2)));
        assertThrows(JournalException.class, () -> j.remove(key(1)));
        try (Journal again = Journal.open(dir)) {
            assertEquals(Optional.of(allocated(1, 1)), again.get(key(1)));
        }
    }

    @Test
    void createsDirectoryWithMode0700() throws Exception {
        Path dir = tmp.resolve("a/b/journal");
        try (Journal j = Journal.open(dir)) {
            assertTrue(Files.isDirectory(dir));
            assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
            assertEquals(List.of("LOCK", JournalFiles.logName(1)), TestData.names(dir));
            assertFalse(j.stats().failed());
        }
    }

    static Map<AttachmentKey, Attachment> toMap(List<Attachment> all) {
        Map<AttachmentKey, Attachment> m = new HashMap<>();
        for (Attachment a : all) {
            m.put(a.key(), a);
        }
        return m;
    }
}
