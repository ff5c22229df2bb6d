package infobloxcni.store;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Child process of {@link JournalCrashTest}: opens the journal, then performs random put/remove
 * on {@code keys} keys from {@code threads} threads until it is killed. Key k belongs to thread
 * k % threads, so the operations on one key are sequential.
 *
 * <p>Protocol on stdout, one line per write(2): {@code ready}, then per operation
 * {@code begin <seq> <put|remove> <key> <hash>} before the call and
 * {@code ack <seq> <put|remove> <key> <hash>} after it returned; {@code compactions <n>} whenever
 * the count of completed snapshots changes.
 *
 * <p>Arguments: directory threads compactionThresholdBytes seqBase keys.
 */
public final class JournalCrashWriter {
    private static final FileOutputStream OUT = new FileOutputStream(FileDescriptor.out);

    /** One line, one write(2): a line is either entirely in the pipe or not at all. */
    static void line(String s) {
        byte[] b = (s + "\n").getBytes(StandardCharsets.US_ASCII);
        synchronized (OUT) {
            try {
                OUT.write(b);
            } catch (IOException e) {
                Runtime.getRuntime().halt(3); // parent gone
            }
        }
    }

    static AttachmentKey key(int k) {
        return new AttachmentKey("net" + (k % 3), "container-" + (k / 2), "eth" + (k % 2));
    }

    /** The value a put with this sequence number writes; a pure function of (k, seq). */
    static Attachment value(int k, long seq) {
        AttachmentState st = AttachmentState.values()[(int) (seq % 3)];
        int pad = (int) ((seq * 2654435761L) % 300);
        return new Attachment(
                key(k),
                st,
                seq % 5 == 0 ? null : "10." + (k % 250) + "." + ((seq >> 8) % 250) + "." + (seq % 250),
                seq % 5 == 0 ? 0 : 24,
                seq % 7 == 0 ? null : "10." + (k % 250) + ".0.1",
                "fixedaddress/ZG5zLmZpeGVkX2FkZHJlc3Mk:" + seq,
                "default",
                "10." + (k % 250) + ".0.0/16",
                "0a:58:00:00:00:" + String.format("%02x", k & 0xff),
                Instant.ofEpochSecond(1_700_000_000L + k),
                Instant.ofEpochSecond(1_700_000_000L + seq, (int) (seq % 1_000_000_000)),
                (int) (seq % 1000),
                seq % 2 == 0 ? null : "e".repeat(pad) + seq);
    }

    static String hash(Attachment a) {
        return a == null ? "-" : Integer.toHexString(a.toString().hashCode());
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int threads = Integer.parseInt(args[1]);
        long threshold = Long.parseLong(args[2]);
        long seqBase = Long.parseLong(args[3]);
        int keys = Integer.parseInt(args[4]);
        // Never outlive the parent for long, whatever happens to it.
        Thread.ofPlatform().daemon(true).start(() -> {
            try {
                Thread.sleep(60_000);
            } catch (InterruptedException ignored) {
                // exit anyway
            }
            Runtime.getRuntime().halt(4);
        });
        Journal j = Journal.open(dir, new JournalOptions(threshold));
        line("ready");
        AtomicLong seqs = new AtomicLong(seqBase);
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int tt = t;
            ts.add(Thread.ofPlatform().daemon(true).start(() -> {
                SplittableRandom rnd = new SplittableRandom(seqBase * 31 + tt);
                List<Integer> own = new ArrayList<>();
                for (int k = tt; k < keys; k += threads) {
                    own.add(k);
                }
                while (true) {
                    int k = own.get(rnd.nextInt(own.size()));
                    long seq = seqs.getAndIncrement();
                    boolean put = rnd.nextInt(10) < 7;
                    Attachment v = put ? value(k, seq) : null;
                    String desc = seq + " " + (put ? "put" : "remove") + " " + k + " " + hash(v);
                    line("begin " + desc);
                    try {
                        if (put) {
                            j.put(v);
                        } else {
                            j.remove(key(k));
                        }
                    } catch (RuntimeException e) {
                        line("error " + desc + " " + e);
                        Runtime.getRuntime().halt(5);
                    }
                    line("ack " + desc);
                }
            }));
        }
        long seen = 0;
        while (true) {
            long c = j.stats().compactions();
            if (c != seen) {
                seen = c;
                line("compactions " + c);
            }
            Thread.sleep(2);
        }
    }
}
