package infobloxcni.store;

import static infobloxcni.store.JournalFiles.FRAME_OVERHEAD;
import static infobloxcni.store.JournalFiles.frameAt;
import static infobloxcni.store.JournalFiles.getLong;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * The intent log: a 32-byte header, then frames, one per mutation (see docs/journal.md); how
 * a log file is created, read and replayed.
 *
 * <pre>
 * header  := "IBCNILOG" , u8 formatVersion(1) , 3 zero bytes , i64 generation , i64 startSeq ,
 *            i32 CRC32C(bytes 0..27)
 * frame   := i32 payloadLength , i32 CRC32C(length bytes ++ payload) , payload
 * payload := u8 recordVersion(1) , u8 type (1 put | 2 remove) , i64 seq , i64 batchFirstSeq ,
 *            body (put: attachment; remove: key)
 * </pre>
 */
final class WalFormat {
    private WalFormat() {}

    static final byte[] MAGIC = "IBCNILOG".getBytes(StandardCharsets.US_ASCII);
    static final int FORMAT_VERSION = 1;
    static final int HEADER_SIZE = 32;
    static final int RECORD_VERSION = AttachmentCodec.RECORD_VERSION;
    static final int TYPE_PUT = 1;
    static final int TYPE_REMOVE = 2;
    /** version, type, seq, batchFirstSeq. */
    static final int PAYLOAD_FIXED = 1 + 1 + 8 + 8;
    /** Largest body a record can carry. */
    static final int MAX_BODY = JournalFiles.MAX_PAYLOAD - PAYLOAD_FIXED;

    static byte[] header(long generation, long startSeq) {
        byte[] h = new byte[HEADER_SIZE];
        System.arraycopy(MAGIC, 0, h, 0, MAGIC.length);
        h[8] = FORMAT_VERSION;
        JournalFiles.putLong(h, 12, generation);
        JournalFiles.putLong(h, 20, startSeq);
        JournalFiles.putInt(h, 28, JournalFiles.crc(h, 0, 28));
        return h;
    }

    /**
     * Creates the log of {@code generation} (new, mode 0600) and returns it open for appending,
     * its header durable: the header is written and fsynced under a temporary name
     * ({@code log-N.wal.tmp}), and only then does the file get its own name (a hard link, which
     * never replaces a log already there, then the temporary name removed, the directory fsynced).
     * So a log under its own name always has its whole header, and one without is damage, never a
     * leftover; what a crash leaves under the temporary name never held a record and is removed
     * at open. On failure the temporary file is removed (and the failure thrown).
     */
    static FileChannel create(Path dir, long generation, long startSeq) throws IOException {
        Path p = dir.resolve(JournalFiles.logName(generation));
        Path tmp = dir.resolve(JournalFiles.logName(generation) + JournalFiles.TMP_SUFFIX);
        Files.deleteIfExists(tmp); // an earlier attempt's; it never held a record
        FileChannel ch = PrivateFiles.createFile(tmp);
        boolean named = false;
        try {
            JournalFiles.writeFully(ch, ByteBuffer.wrap(header(generation, startSeq)), 0);
            ch.force(true);
            Files.createLink(p, tmp); // fails if the log exists: never replaces one
            named = true;
            Files.delete(tmp);
            JournalFiles.fsyncDirectory(dir);
            return ch;
        } catch (IOException | RuntimeException e) {
            JournalFiles.closeQuietly(ch);
            try {
                if (named) Files.deleteIfExists(p); // ours, header only: the caller stays in the older log
                Files.deleteIfExists(tmp);
                JournalFiles.fsyncDirectory(dir);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    /** Bytes a record with a body of {@code bodyLength} takes in the log, frame included. */
    static int frameSize(int bodyLength) {
        return FRAME_OVERHEAD + PAYLOAD_FIXED + bodyLength;
    }

    /**
     * Encodes one record (frame included) into {@code buf} at {@code off}; returns its size. The
     * caller makes room for {@link #frameSize} bytes.
     */
    static int encodeRecord(byte[] buf, int off, int type, long seq, long batchFirstSeq, byte[] body) {
        int p = off + FRAME_OVERHEAD;
        buf[p] = RECORD_VERSION;
        buf[p + 1] = (byte) type;
        JournalFiles.putLong(buf, p + 2, seq);
        JournalFiles.putLong(buf, p + 10, batchFirstSeq);
        System.arraycopy(body, 0, buf, p + PAYLOAD_FIXED, body.length);
        int payload = PAYLOAD_FIXED + body.length;
        JournalFiles.sealFrame(buf, off, payload);
        return FRAME_OVERHEAD + payload;
    }

    /** True when d starts with a complete header whose CRC matches. */
    static boolean headerIntact(byte[] d) {
        return d.length >= HEADER_SIZE && JournalFiles.crc(d, 0, 28) == JournalFiles.getInt(d, 28);
    }

    record Header(long generation, long startSeq) {}

    static Header parseHeader(Path file, byte[] d) throws JournalCorruptedException {
        if (d.length < HEADER_SIZE) {
            throw new JournalCorruptedException(file, 0, "log header incomplete (" + d.length + " bytes)");
        }
        if (!Arrays.equals(d, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
            throw new JournalCorruptedException(file, 0, "bad magic: not a journal log file");
        }
        if (!headerIntact(d)) {
            throw new JournalCorruptedException(file, 28, "log header CRC32C mismatch");
        }
        if (d[8] != FORMAT_VERSION) {
            throw new JournalCorruptedException(
                    file,
                    8,
                    "unsupported log format version " + (d[8] & 0xff) + " (this build reads " + FORMAT_VERSION + ")");
        }
        return new Header(getLong(d, 12), getLong(d, 20));
    }

    /** Result of replaying one log file. */
    record Replay(long startSeq, long lastSeq, int records, int validEnd, boolean torn, String tornReason) {}

    /**
     * Replays the records of one log into {@code state}. For the newest log a bad tail is a torn
     * write (reported, not thrown) when no record of a later batch follows it; everything else that
     * is wrong throws.
     */
    static Replay replay(
            Path file,
            byte[] d,
            long generation,
            long expectedStartSeq,
            boolean newest,
            Map<AttachmentKey, Attachment> state)
            throws JournalCorruptedException {
        Header h = parseHeader(file, d);
        if (h.generation() != generation) {
            throw new JournalCorruptedException(
                    file, 12, "header says generation " + h.generation() + " but the file name says " + generation);
        }
        if (h.startSeq() != expectedStartSeq) {
            throw new JournalCorruptedException(
                    file,
                    20,
                    "log starts at sequence " + h.startSeq()
                            + " but the preceding snapshot/log ends at " + (expectedStartSeq - 1)
                            + (h.startSeq() > expectedStartSeq ? " (records missing)" : " (records overlap)"));
        }
        int end = d.length;
        int off = HEADER_SIZE;
        long seq = h.startSeq();
        int records = 0;
        while (off < end) {
            int r = frameAt(d, off, end);
            if (r < 0) {
                String what = JournalFiles.describe(r, d, off, end);
                if (!newest) {
                    throw new JournalCorruptedException(
                            file,
                            off,
                            what
                                    + " in a log that is not the newest (it was complete and fsynced before the next"
                                    + " generation was created)");
                }
                int later = findLaterBatch(d, off + 1, end, seq);
                if (later >= 0) {
                    throw new JournalCorruptedException(
                            file,
                            off,
                            what + ", but a valid record of a later" + " (already committed) batch follows at offset "
                                    + later);
                }
                return new Replay(h.startSeq(), seq - 1, records, off, true, what);
            }
            int p = off + FRAME_OVERHEAD;
            int version = AttachmentCodec.readableVersion(d[p], file, off);
            if (r < PAYLOAD_FIXED) {
                throw new JournalCorruptedException(file, off, "record too short (" + r + " bytes)");
            }
            int type = d[p + 1] & 0xff;
            long recSeq = getLong(d, p + 2);
            long batchFirst = getLong(d, p + 10);
            if (recSeq != seq) {
                throw new JournalCorruptedException(
                        file, off, "sequence " + recSeq + " where " + seq + " was expected");
            }
            if (batchFirst > recSeq || batchFirst < h.startSeq()) {
                throw new JournalCorruptedException(
                        file, off, "batch start " + batchFirst + " impossible for sequence " + recSeq);
            }
            AttachmentCodec.In in = new AttachmentCodec.In(d, p + PAYLOAD_FIXED, r - PAYLOAD_FIXED);
            try {
                switch (type) {
                    case TYPE_PUT -> {
                        Attachment a = AttachmentCodec.readAttachment(in, version);
                        in.expectEnd();
                        state.put(a.key(), a);
                    }
                    case TYPE_REMOVE -> {
                        AttachmentKey k = AttachmentCodec.readKey(in);
                        in.expectEnd();
                        state.remove(k);
                    }
                    default -> throw new AttachmentCodec.MalformedException("unknown record type " + type);
                }
            } catch (AttachmentCodec.MalformedException e) {
                throw new JournalCorruptedException(file, off, "record " + recSeq + ": " + e.getMessage());
            }
            records++;
            seq++;
            off += FRAME_OVERHEAD + r;
        }
        return new Replay(h.startSeq(), seq - 1, records, off, false, null);
    }

    /**
     * After a bad frame where record {@code damagedSeq} should be: the offset of the first valid
     * record that proves the damage is not a torn tail, or -1. A valid record proves it when it
     * belongs to a later batch than the damaged one (its batch started after damagedSeq): the writer
     * only starts a batch after the previous one was fsynced, so the damaged bytes had been durable.
     * Valid records of the same batch (out-of-order persistence on power loss) do not count.
     * Bounded: one pass over the remaining bytes.
     */
    static int findLaterBatch(byte[] d, int from, int end, long damagedSeq) {
        int p = from;
        while (p <= end - FRAME_OVERHEAD) {
            int r = frameAt(d, p, end);
            if (r < 0) {
                p++;
                continue;
            }
            int q = p + FRAME_OVERHEAD;
            if (!AttachmentCodec.readable(d[q] & 0xff) || r < PAYLOAD_FIXED) {
                return p; // CRC-valid data we cannot place: not a torn write
            }
            long recSeq = getLong(d, q + 2);
            long batchFirst = getLong(d, q + 10);
            if (recSeq >= damagedSeq && batchFirst <= damagedSeq) {
                p += FRAME_OVERHEAD + r; // part of the same, never-acknowledged batch
                continue;
            }
            return p;
        }
        return -1;
    }
}
