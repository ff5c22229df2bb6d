package infobloxcni.store;

import static infobloxcni.store.JournalFiles.FRAME_OVERHEAD;
import static infobloxcni.store.JournalFiles.getInt;
import static infobloxcni.store.JournalFiles.getLong;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;

/**
 * A snapshot: the whole state as of a sequence number, written once, fsynced, then renamed into
 * place (see docs/journal.md).
 *
 * <pre>
 * header  := "IBCNISNP" , u8 formatVersion(1) , 3 zero bytes , i64 generation , i64 lastSeq ,
 *            i32 recordCount , i32 0 , i32 CRC32C(bytes 0..35)
 * record  := frame (as in the log) whose payload is u8 recordVersion(1) , attachment
 * trailer := "IBCNIEND" , i32 recordCount , i32 CRC32C(every byte of the file before this field)
 * </pre>
 */
final class SnapshotFormat {
    private SnapshotFormat() {}

    static final byte[] MAGIC = "IBCNISNP".getBytes(StandardCharsets.US_ASCII);
    static final byte[] TRAILER_MAGIC = "IBCNIEND".getBytes(StandardCharsets.US_ASCII);
    static final int FORMAT_VERSION = 1;
    static final int RECORD_VERSION = AttachmentCodec.RECORD_VERSION;
    static final int HEADER_SIZE = 40;
    static final int TRAILER_SIZE = 16;

    record Snapshot(long generation, long lastSeq, Map<AttachmentKey, Attachment> records) {}

    /** Encodes a complete snapshot file image. */
    static byte[] encode(long generation, long lastSeq, Collection<Attachment> records) {
        AttachmentCodec.Out out = new AttachmentCodec.Out(HEADER_SIZE + TRAILER_SIZE + records.size() * 200);
        out.bytes(MAGIC);
        out.u8(FORMAT_VERSION);
        out.u8(0);
        out.u8(0);
        out.u8(0);
        out.i64(generation);
        out.i64(lastSeq);
        out.i32(records.size());
        out.i32(0);
        out.i32(0); // header CRC, patched below
        int[] frames = new int[records.size() * 2];
        int i = 0;
        for (Attachment a : records) {
            int frameOff = out.size();
            out.i32(0); // length and CRC, sealed below
            out.i32(0);
            out.u8(RECORD_VERSION);
            AttachmentCodec.writeAttachment(out, a);
            frames[i++] = frameOff;
            frames[i++] = out.size() - frameOff - FRAME_OVERHEAD;
        }
        out.bytes(TRAILER_MAGIC);
        out.i32(records.size());
        out.i32(0); // file CRC, patched below
        byte[] img = out.toByteArray();
        JournalFiles.putInt(img, 36, JournalFiles.crc(img, 0, 36));
        for (int f = 0; f < frames.length; f += 2) {
            JournalFiles.sealFrame(img, frames[f], frames[f + 1]);
        }
        JournalFiles.putInt(img, img.length - 4, JournalFiles.crc(img, 0, img.length - 4));
        return img;
    }

    /** Writes the snapshot to {@code file} (created anew, mode 0600) and fsyncs it. */
    static void write(Path file, long generation, long lastSeq, Collection<Attachment> records) throws IOException {
        byte[] img = encode(generation, lastSeq, records);
        Files.deleteIfExists(file); // a leftover of a failed attempt: never read, replaced whole
        try (FileChannel ch = PrivateFiles.createFile(file)) {
            JournalFiles.writeFully(ch, ByteBuffer.wrap(img), 0);
            ch.force(true);
        }
    }

    /** Reads and fully verifies a snapshot; anything unexpected is corruption. */
    static Snapshot read(Path file, long expectedGeneration) throws IOException, JournalCorruptedException {
        byte[] d = JournalFiles.readAll(file);
        if (d.length < HEADER_SIZE + TRAILER_SIZE) {
            throw new JournalCorruptedException(file, 0, "snapshot too short (" + d.length + " bytes)");
        }
        if (!Arrays.equals(d, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
            throw new JournalCorruptedException(file, 0, "bad magic: not a journal snapshot");
        }
        if (JournalFiles.crc(d, 0, 36) != getInt(d, 36)) {
            throw new JournalCorruptedException(file, 36, "snapshot header CRC32C mismatch");
        }
        if (d[8] != FORMAT_VERSION) {
            throw new JournalCorruptedException(
                    file,
                    8,
                    "unsupported snapshot format version " + (d[8] & 0xff) + " (this build reads " + FORMAT_VERSION
                            + ")");
        }
        long generation = getLong(d, 12);
        long lastSeq = getLong(d, 20);
        int count = getInt(d, 28);
        if (generation != expectedGeneration) {
            throw new JournalCorruptedException(
                    file, 12, "header says generation " + generation + " but the file name says " + expectedGeneration);
        }
        int trailer = d.length - TRAILER_SIZE;
        if (!Arrays.equals(d, trailer, trailer + TRAILER_MAGIC.length, TRAILER_MAGIC, 0, TRAILER_MAGIC.length)) {
            throw new JournalCorruptedException(
                    file, trailer, "snapshot trailer missing (file truncated" + " or extended)");
        }
        if (JournalFiles.crc(d, 0, d.length - 4) != getInt(d, d.length - 4)) {
            throw new JournalCorruptedException(file, d.length - 4, "snapshot file CRC32C mismatch");
        }
        if (getInt(d, trailer + 8) != count || count < 0) {
            throw new JournalCorruptedException(
                    file,
                    trailer + 8,
                    "record count in trailer " + getInt(d, trailer + 8) + " differs from header " + count);
        }
        Map<AttachmentKey, Attachment> records = new HashMap<>(Math.max(16, count * 2));
        int off = HEADER_SIZE;
        for (int i = 0; i < count; i++) {
            int r = JournalFiles.frameAt(d, off, trailer);
            if (r < 0) {
                throw new JournalCorruptedException(
                        file, off, "snapshot record " + i + ": " + JournalFiles.describe(r, d, off, trailer));
            }
            int p = off + FRAME_OVERHEAD;
            int version = AttachmentCodec.readableVersion(d[p], file, off);
            AttachmentCodec.In in = new AttachmentCodec.In(d, p + 1, r - 1);
            try {
                Attachment a = AttachmentCodec.readAttachment(in, version);
                in.expectEnd();
                if (records.put(a.key(), a) != null) {
                    throw new JournalCorruptedException(file, off, "duplicate key " + a.key());
                }
            } catch (AttachmentCodec.MalformedException e) {
                throw new JournalCorruptedException(file, off, "snapshot record " + i + ": " + e.getMessage());
            }
            off += FRAME_OVERHEAD + r;
        }
        if (off != trailer) {
            throw new JournalCorruptedException(
                    file, off, (trailer - off) + " unexpected bytes between the last record and the trailer");
        }
        return new Snapshot(generation, lastSeq, records);
    }
}
