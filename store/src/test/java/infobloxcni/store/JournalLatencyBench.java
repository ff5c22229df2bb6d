package infobloxcni.store;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CyclicBarrier;

/**
 * Commit latency of put(), single-threaded and from 8 threads. Prints numbers, asserts nothing.
 *
 * <pre>
 * java -cp store/target/classes:store/target/test-classes infobloxcni.store.JournalLatencyBench \
 *     [dir] [opsPerThread] [compactionThresholdBytes]
 * </pre>
 */
public final class JournalLatencyBench {
    public static void main(String[] args) throws Exception {
        Path base = args.length > 0 ? Path.of(args[0]) : Files.createTempDirectory("journal-bench");
        int ops = args.length > 1 ? Integer.parseInt(args[1]) : 5000;
        long threshold = args.length > 2 ? Long.parseLong(args[2]) : JournalOptions.DEFAULT_COMPACTION_THRESHOLD;
        System.out.println(rawFdatasync(base.resolve("raw"), Math.min(ops, 2000)));
        System.out.println(run(base.resolve("warmup"), 1, Math.min(ops, 2000), threshold, "warm-up"));
        System.out.println(run(base.resolve("t1"), 1, ops, threshold, "1 thread "));
        System.out.println(run(base.resolve("t8"), 8, ops, threshold, "8 threads"));
    }

    /** Baseline: append 200 bytes + fdatasync in a loop, no journal. */
    static String rawFdatasync(Path dir, int n) throws Exception {
        TestData.deleteTree(dir);
        Files.createDirectories(dir);
        long[] lat = new long[n];
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(
                dir.resolve("raw"), java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE)) {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(200);
            long pos = 0;
            for (int i = 0; i < n; i++) {
                b.clear();
                long s = System.nanoTime();
                pos += ch.write(b, pos);
                ch.force(false);
                lat[i] = System.nanoTime() - s;
            }
        }
        TestData.deleteTree(dir);
        Arrays.sort(lat);
        return String.format(
                "raw append+fdatasync: %d ops; latency avg %.3f ms, p50 %.3f, p99 %.3f ms",
                n, Arrays.stream(lat).average().orElse(0) / 1e6, lat[n / 2] / 1e6, lat[(int) (n * 0.99)] / 1e6);
    }

    static String run(Path dir, int threads, int opsPerThread, long threshold, String label) throws Exception {
        TestData.deleteTree(dir);
        long[][] lat = new long[threads][opsPerThread];
        long elapsed;
        JournalStats stats;
        try (Journal j = Journal.open(dir, new JournalOptions(threshold))) {
            CyclicBarrier start = new CyclicBarrier(threads + 1);
            List<Thread> ts = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int tt = t;
                ts.add(Thread.ofPlatform().start(() -> {
                    try {
                        start.await();
                        for (int i = 0; i < opsPerThread; i++) {
                            Attachment a = TestData.allocated(tt * 1000 + (i % 200), i);
                            long s = System.nanoTime();
                            j.put(a);
                            lat[tt][i] = System.nanoTime() - s;
                        }
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                }));
            }
            start.await();
            long s = System.nanoTime();
            for (Thread t : ts) {
                t.join();
            }
            elapsed = System.nanoTime() - s;
            stats = j.stats();
        }
        long[] all = Arrays.stream(lat).flatMapToLong(Arrays::stream).sorted().toArray();
        double avg = Arrays.stream(all).average().orElse(0) / 1e6;
        TestData.deleteTree(dir);
        return String.format(
                "%s: %d puts in %.2f s = %.0f puts/s; latency avg %.3f ms, p50 %.3f, p99 %.3f,"
                        + " max %.3f ms; fsyncs %d (%.1f commits/fsync), compactions %d",
                label,
                all.length,
                elapsed / 1e9,
                all.length / (elapsed / 1e9),
                avg,
                all[all.length / 2] / 1e6,
                all[(int) (all.length * 0.99)] / 1e6,
                all[all.length - 1] / 1e6,
                stats.fsyncs(),
                (double) stats.commits() / Math.max(1, stats.fsyncs()),
                stats.compactions());
    }
}
