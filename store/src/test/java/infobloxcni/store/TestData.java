package infobloxcni.store;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** Sample records and file helpers shared by the tests. */
final class TestData {
    private TestData() {}

    static final Instant T0 = Instant.parse("2025-01-02T03:04:05.123456789Z");

    static AttachmentKey key(int i) {
        return new AttachmentKey("net" + (i % 3), "ctr-" + (i / 2), "eth" + (i % 2));
    }

    /** A fully populated ALLOCATED record; {@code version} makes values distinct. */
    static Attachment allocated(int i, int version) {
        return new Attachment(
                key(i),
                AttachmentState.ALLOCATED,
                "10.1." + (i % 250) + "." + (version % 250),
                24,
                "10.1." + (i % 250) + ".1",
                "fixedaddress/ZG5zLmZpeGVk:" + i + "/" + version,
                "default",
                "10.1." + (i % 250) + ".0/24",
                "0a:58:0a:01:00:" + String.format("%02x", i % 256),
                T0,
                T0.plusSeconds(version),
                version,
                version % 2 == 0 ? null : "err " + version);
    }

    static Path log(Path dir, long gen) {
        return dir.resolve(JournalFiles.logName(gen));
    }

    static Path snapshot(Path dir, long gen) {
        return dir.resolve(JournalFiles.snapshotName(gen));
    }

    /** Offsets of the frames of a log file (all frames must be valid). */
    static List<Integer> frameOffsets(byte[] d) {
        List<Integer> out = new ArrayList<>();
        int off = WalFormat.HEADER_SIZE;
        while (off < d.length) {
            int r = JournalFiles.frameAt(d, off, d.length);
            if (r < 0) {
                throw new IllegalStateException("bad frame at " + off);
            }
            out.add(off);
            off += JournalFiles.FRAME_OVERHEAD + r;
        }
        return out;
    }

    /**
     * A log file image written by hand: header, then one record per op, each its own batch. An op
     * is an {@link Attachment} (put) or an {@link AttachmentKey} (remove).
     */
    static byte[] logImage(long gen, long startSeq, Object... ops) {
        List<byte[]> bodies = new ArrayList<>();
        int size = WalFormat.HEADER_SIZE;
        for (Object op : ops) {
            byte[] body = op instanceof Attachment a
                    ? AttachmentCodec.encodeAttachment(a)
                    : AttachmentCodec.encodeKey((AttachmentKey) op);
            bodies.add(body);
            size += WalFormat.frameSize(body.length);
        }
        byte[] d = java.util.Arrays.copyOf(WalFormat.header(gen, startSeq), size);
        int off = WalFormat.HEADER_SIZE;
        long seq = startSeq;
        for (int i = 0; i < ops.length; i++, seq++) {
            int type = ops[i] instanceof Attachment ? WalFormat.TYPE_PUT : WalFormat.TYPE_REMOVE;
            off += WalFormat.encodeRecord(d, off, type, seq, seq, bodies.get(i));
        }
        return d;
    }

    static void copyDir(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> s = Files.list(from)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                if (Files.isRegularFile(p)) {
                    Files.copy(p, to.resolve(p.getFileName()), StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            List<Path> all =
                    s.sorted((a, b) -> b.getNameCount() - a.getNameCount()).toList();
            for (Path x : all) {
                Files.deleteIfExists(x);
            }
        }
    }

    static List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /** Empties {@code dir}, keeping the directory. */
    static void deleteContents(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.toList()) deleteTree(p);
        }
    }
}
