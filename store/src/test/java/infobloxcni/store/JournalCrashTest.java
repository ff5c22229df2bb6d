package infobloxcni.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 cycles: a child JVM ({@link JournalCrashWriter}) writes from 1..8 threads with a tiny
 * compaction threshold and reports every acknowledged operation; the parent kills it with SIGKILL
 * at a random moment, opens a copy of the journal and checks that every key holds its last
 * acknowledged value or the value of a later, unacknowledged operation. The next child continues
 * on the original files (so recovery itself runs in the child, and is killed too sometimes).
 *
 * <p>{@code -Djournal.crash.cycles=1000} for the long run (default 40);
 * {@code -Djournal.crash.seed=N} to replay a run.
 */
class JournalCrashTest {
    private static final int KEYS = 50;
    private static final long[] THRESHOLDS = {512, 2 << 10, 8 << 10};

    @TempDir
    Path tmp;

    private record Op(long seq, boolean put) {}

    private static final class KeyLog {
        final List<Op> ops = new ArrayList<>();
        int lastAck = -1;
    }

    @Test
    void killMinusNineNeverLosesAnAcknowledgedWrite() throws Exception {
        int cycles = Integer.getInteger("journal.crash.cycles", 40);
        String seedProp = System.getProperty("journal.crash.seed", "");
        long seed = seedProp.isBlank() ? System.nanoTime() : Long.parseLong(seedProp.trim());
        Random rnd = new Random(seed);
        Path dir = tmp.resolve("journal");
        Path childTmp = tmp.resolve("child-tmp");
        Files.createDirectories(childTmp);
        Path stderr = tmp.resolve("child-stderr.log");
        Path failures = Path.of("target", "journal-crash-failures").toAbsolutePath();

        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String cp = location(JournalCrashWriter.class) + File.pathSeparator + location(Journal.class);

        Map<Integer, Attachment> model = new HashMap<>(); // state the journal holds between cycles
        long lost = 0;
        long unopenable = 0;
        long childFailures = 0;
        long acked = 0;
        long inflight = 0;
        long inflightApplied = 0;
        long compactions = 0;
        long cyclesWithCompaction = 0;
        long tornTails = 0;
        long leftovers = 0;
        long killedBeforeReady = 0;
        long startupMillis = 300;
        List<String> problems = new ArrayList<>();
        long t0 = System.nanoTime();

        for (int cycle = 0; cycle < cycles; cycle++) {
            int threads = 1 + rnd.nextInt(8);
            long threshold = THRESHOLDS[rnd.nextInt(THRESHOLDS.length)];
            long seqBase = (cycle + 1) * 1_000_000_000L;
            ProcessBuilder pb = new ProcessBuilder(
                    java,
                    "-Xshare:auto",
                    "-XX:TieredStopAtLevel=1",
                    "-XX:-UsePerfData",
                    "-XX:+UseSerialGC",
                    "-Xmx64m",
                    "-Djava.io.tmpdir=" + childTmp,
                    "-cp",
                    cp,
                    JournalCrashWriter.class.getName(),
                    dir.toString(),
                    Integer.toString(threads),
                    Long.toString(threshold),
                    Long.toString(seqBase),
                    Integer.toString(KEYS));
            pb.redirectError(ProcessBuilder.Redirect.appendTo(stderr.toFile()));
            // stdout goes to a file opened O_APPEND, not a pipe: every line the child wrote before the
            // SIGKILL is in the file afterwards (a pipe read through java.lang.Process can lose the
            // tail when the reaper drains it at exit, which would look like lost writes here).
            Path out = tmp.resolve("child-stdout.txt");
            Files.deleteIfExists(out);
            pb.redirectOutput(ProcessBuilder.Redirect.appendTo(out.toFile()));
            long spawned = System.nanoTime();
            Process p = pb.start();

            boolean early = rnd.nextInt(100) < 10;
            if (early) {
                Thread.sleep(rnd.nextInt((int) startupMillis + 40));
            } else {
                if (!awaitReady(out, p)) {
                    problems.add("cycle " + cycle + ": child not ready");
                }
                startupMillis = (startupMillis * 3 + (System.nanoTime() - spawned) / 1_000_000) / 4;
                Thread.sleep(20 + rnd.nextInt(381));
            }
            boolean aliveAtKill = p.isAlive();
            p.destroyForcibly();
            p.waitFor();
            if (!aliveAtKill) {
                childFailures++;
                problems.add("cycle " + cycle + ": child exited by itself with " + p.exitValue());
            }
            List<String> copy = Files.exists(out) ? Files.readAllLines(out, StandardCharsets.US_ASCII) : List.of();
            if (!copy.contains("ready")) {
                killedBeforeReady++;
            }

            // What the child reported.
            Map<Integer, KeyLog> logs = new HashMap<>();
            long cycleCompactions = 0;
            for (String l : copy) {
                String[] f = l.split(" ");
                switch (f[0]) {
                    case "begin" -> {
                        if (f.length == 5) {
                            int k = Integer.parseInt(f[3]);
                            logs.computeIfAbsent(k, x -> new KeyLog())
                                    .ops
                                    .add(new Op(Long.parseLong(f[1]), f[2].equals("put")));
                        }
                    }
                    case "ack" -> {
                        if (f.length == 5) {
                            KeyLog kl = logs.get(Integer.parseInt(f[3]));
                            long seq = Long.parseLong(f[1]);
                            for (int i = 0; i < kl.ops.size(); i++) {
                                if (kl.ops.get(i).seq() == seq) {
                                    kl.lastAck = Math.max(kl.lastAck, i);
                                }
                            }
                            acked++;
                        }
                    }
                    case "compactions" -> cycleCompactions = Math.max(cycleCompactions, Long.parseLong(f[1]));
                    case "error" -> problems.add("cycle " + cycle + ": " + l);
                    default -> {}
                }
            }
            compactions += cycleCompactions;
            if (cycleCompactions > 0) {
                cyclesWithCompaction++;
            }

            long lostBefore = lost;
            // Open a copy (the original stays as the crash left it, for the next child to recover).
            Path verify = tmp.resolve("verify");
            TestData.deleteTree(verify);
            TestData.copyDir(dir.toFile().exists() ? dir : Files.createDirectories(dir), verify);
            Map<AttachmentKey, Attachment> actual;
            try (Journal j = Journal.open(verify)) {
                actual = JournalTest.toMap(j.all());
                if (j.stats().tornBytesDropped() > 0) {
                    tornTails++;
                }
                if (j.stats().filesRemovedAtOpen() > 0) {
                    leftovers++;
                }
            } catch (JournalCorruptedException | RuntimeException e) {
                unopenable++;
                problems.add("cycle " + cycle + ": cannot open: " + e);
                Path keep = failures.resolve("cycle-" + cycle);
                TestData.deleteTree(keep);
                TestData.copyDir(dir, keep);
                Journal.quarantine(dir);
                model.clear();
                continue;
            }

            for (int k = 0; k < KEYS; k++) {
                AttachmentKey key = JournalCrashWriter.key(k);
                Attachment got = actual.remove(key);
                KeyLog kl = logs.get(k);
                List<Attachment> allowed = new ArrayList<>();
                if (kl == null || kl.lastAck < 0) {
                    allowed.add(model.get(k));
                }
                int from = kl == null ? 0 : Math.max(kl.lastAck, 0);
                if (kl != null) {
                    for (int i = from; i < kl.ops.size(); i++) {
                        Op op = kl.ops.get(i);
                        allowed.add(op.put() ? JournalCrashWriter.value(k, op.seq()) : null);
                    }
                    inflight += kl.ops.size() - 1 - kl.lastAck;
                }
                boolean ok = false;
                for (Attachment a : allowed) {
                    ok |= Objects.equals(a, got);
                }
                if (!ok) {
                    lost++;
                    problems.add("cycle " + cycle + ": key " + k + " holds " + JournalCrashWriter.hash(got) + " " + got
                            + "; allowed "
                            + allowed.stream().map(JournalCrashWriter::hash).toList());
                } else if (kl != null && kl.lastAck < kl.ops.size() - 1) {
                    Op last = kl.ops.get(kl.ops.size() - 1);
                    Attachment lastValue = last.put() ? JournalCrashWriter.value(k, last.seq()) : null;
                    Attachment acknowledged = kl.lastAck >= 0
                            ? (kl.ops.get(kl.lastAck).put()
                                    ? JournalCrashWriter.value(
                                            k, kl.ops.get(kl.lastAck).seq())
                                    : null)
                            : model.get(k);
                    if (Objects.equals(got, lastValue) && !Objects.equals(lastValue, acknowledged)) {
                        inflightApplied++;
                    }
                }
                if (got == null) {
                    model.remove(k);
                } else {
                    model.put(k, got);
                }
            }
            if (!actual.isEmpty()) {
                lost += actual.size();
                problems.add("cycle " + cycle + ": unknown keys " + actual.keySet());
            }
            if (lost > lostBefore) { // keep the evidence: the files as the kill left them, and the child's report
                Path keep = failures.resolve("cycle-" + cycle);
                TestData.deleteTree(keep);
                TestData.copyDir(dir, keep);
                Files.write(keep.resolve("child-stdout.txt"), copy);
            }
        }

        long seconds = (System.nanoTime() - t0) / 1_000_000_000L;
        String summary = String.format(
                "journal crash test: cycles=%d lost=%d unopenable=%d compactions=%d"
                        + " cyclesWithCompaction=%d acked=%d inflightAtKill=%d inflightApplied=%d tornTails=%d"
                        + " compactionLeftoversAtOpen=%d killedBeforeReady=%d childFailures=%d seconds=%d seed=%d",
                cycles,
                lost,
                unopenable,
                compactions,
                cyclesWithCompaction,
                acked,
                inflight,
                inflightApplied,
                tornTails,
                leftovers,
                killedBeforeReady,
                childFailures,
                seconds,
                seed);
        System.out.println(summary);
        for (String s : problems.subList(0, Math.min(problems.size(), 30))) {
            System.out.println("  " + s);
        }
        Files.createDirectories(Path.of("target"));
        Files.writeString(
                Path.of("target", "journal-crash-summary.txt"), summary + "\n" + String.join("\n", problems) + "\n");
        if (childFailures > 0 && Files.exists(stderr)) {
            System.out.println(Files.readString(stderr));
        }
        try (var s = Files.list(childTmp)) {
            assertEquals(List.of(), s.toList(), "nothing may be left in the child's java.io.tmpdir");
        }
        assertEquals(0, lost, summary);
        assertEquals(0, unopenable, summary);
        assertEquals(0, childFailures, summary);
        assertTrue(problems.isEmpty(), String.join("\n", problems));
        assertTrue(acked > 0, summary);
    }

    /** Polls the child's stdout file until its first line, "ready", is complete. */
    private static boolean awaitReady(Path out, Process p) throws Exception {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (Files.exists(out)) {
                byte[] b = Files.readAllBytes(out);
                if (b.length >= 6 && new String(b, 0, 6, StandardCharsets.US_ASCII).equals("ready\n")) {
                    return true;
                }
            }
            if (!p.isAlive()) {
                return false;
            }
            Thread.sleep(1);
        }
        return false;
    }

    private static String location(Class<?> c) throws Exception {
        return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI())
                .toString();
    }
}
