package infobloxcni.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/** File names, frames and small I/O helpers shared by the log, the snapshot and their users. */
final class JournalFiles {
    private JournalFiles() {}

    private static final System.Logger LOG = System.getLogger(JournalFiles.class.getName());

    static final String LOCK = "LOCK";
    static final String TMP_SUFFIX = ".tmp";
    static final Pattern LOG_NAME = Pattern.compile("log-(\\d{16})\\.wal");
    static final Pattern SNAPSHOT_NAME = Pattern.compile("snapshot-(\\d{16})\\.snap");
    static final Pattern SNAPSHOT_TMP_NAME = Pattern.compile("snapshot-(\\d{16})\\.snap\\.tmp");
    /** A log being created: renamed to its own name once its header is on disk ({@link WalFormat#create}). */
    static final Pattern LOG_TMP_NAME = Pattern.compile("log-(\\d{16})\\.wal\\.tmp");

    /** Frame = i32 payload length, i32 CRC32C(length bytes, payload), payload. */
    static final int FRAME_OVERHEAD = 8;
    /** Sanity limit of a payload: anything longer is not a record. */
    static final int MAX_PAYLOAD = 1 << 20;

    /** Largest file the journal reads into memory at open. */
    static final long MAX_FILE = 1L << 30;

    static String logName(long generation) {
        return String.format("log-%016d.wal", generation);
    }

    static String snapshotName(long generation) {
        return String.format("snapshot-%016d.snap", generation);
    }

    /** Generation in a file name matching pattern p, or -1. */
    static long generationOf(Pattern p, String name) {
        Matcher m = p.matcher(name);
        if (!m.matches()) {
            return -1;
        }
        return Long.parseLong(m.group(1));
    }

    /**
     * The journal files of a directory, by generation: what recovery reads, what compaction
     * deletes and what quarantine moves. Any other name is not the journal's and is left alone.
     */
    record Listing(NavigableMap<Long, Path> logs, NavigableMap<Long, Path> snapshots, List<Path> tmps) {
        /** Logs and snapshots of a generation below {@code generation} (logs first): superseded. */
        List<Path> olderThan(long generation) {
            List<Path> out = new ArrayList<>(logs.headMap(generation, false).values());
            out.addAll(snapshots.headMap(generation, false).values());
            return out;
        }
    }

    static Listing list(Path dir) throws IOException {
        TreeMap<Long, Path> logs = new TreeMap<>();
        TreeMap<Long, Path> snaps = new TreeMap<>();
        List<Path> tmps = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String name = p.getFileName().toString();
                long g;
                if ((g = generationOf(LOG_NAME, name)) >= 0) {
                    logs.put(g, p);
                } else if ((g = generationOf(SNAPSHOT_NAME, name)) >= 0) {
                    snaps.put(g, p);
                } else if (generationOf(SNAPSHOT_TMP_NAME, name) >= 0 || generationOf(LOG_TMP_NAME, name) >= 0) {
                    tmps.add(p);
                }
            }
        }
        return new Listing(logs, snaps, tmps);
    }

    static int getInt(byte[] b, int off) {
        return ((b[off] & 0xff) << 24) | ((b[off + 1] & 0xff) << 16) | ((b[off + 2] & 0xff) << 8) | (b[off + 3] & 0xff);
    }

    static long getLong(byte[] b, int off) {
        return ((getInt(b, off) & 0xffffffffL) << 32) | (getInt(b, off + 4) & 0xffffffffL);
    }

    static int crc(byte[] b, int off, int len) {
        CRC32C c = new CRC32C();
        c.update(b, off, len);
        return (int) c.getValue();
    }

    /** Frame check results (negative) of {@link #frameAt}. */
    static final int TRUNCATED_HEADER = -1;

    static final int ZEROED = -2;
    static final int BAD_LENGTH = -3;
    static final int TRUNCATED_BODY = -4;
    static final int BAD_CRC = -5;

    /**
     * Checks the frame starting at {@code off}: returns its payload length (>= 1) when the length
     * is sane, the frame fits before {@code end} and the CRC matches; otherwise one of the negative
     * codes above. Never reads outside [off, end).
     */
    static int frameAt(byte[] d, int off, int end) {
        if (end - off < FRAME_OVERHEAD) {
            return TRUNCATED_HEADER;
        }
        int len = getInt(d, off);
        int crc = getInt(d, off + 4);
        if (len == 0 && crc == 0) {
            return ZEROED;
        }
        if (len < 1 || len > MAX_PAYLOAD) {
            return BAD_LENGTH;
        }
        if (len > end - off - FRAME_OVERHEAD) {
            return TRUNCATED_BODY;
        }
        CRC32C c = new CRC32C();
        c.update(d, off, 4);
        c.update(d, off + FRAME_OVERHEAD, len);
        if ((int) c.getValue() != crc) {
            return BAD_CRC;
        }
        return len;
    }

    static String describe(int code, byte[] d, int off, int end) {
        return switch (code) {
            case TRUNCATED_HEADER -> "partial frame header (" + (end - off) + " bytes before end of file)";
            case ZEROED -> "zeroed bytes where a record header should be";
            case BAD_LENGTH -> "implausible record length " + getInt(d, off);
            case TRUNCATED_BODY ->
                "record of " + getInt(d, off) + " bytes extends past end of file (" + (end - off - FRAME_OVERHEAD)
                        + " bytes left)";
            case BAD_CRC -> "CRC32C mismatch";
            default -> "bad record (" + code + ")";
        };
    }

    /** Writes a frame around payload[pOff, pOff+pLen) that is already in {@code buf} at pOff. */
    static void sealFrame(byte[] buf, int frameOff, int payloadLen) {
        putInt(buf, frameOff, payloadLen);
        CRC32C c = new CRC32C();
        c.update(buf, frameOff, 4);
        c.update(buf, frameOff + FRAME_OVERHEAD, payloadLen);
        putInt(buf, frameOff + 4, (int) c.getValue());
    }

    static void putInt(byte[] b, int off, int v) {
        b[off] = (byte) (v >>> 24);
        b[off + 1] = (byte) (v >>> 16);
        b[off + 2] = (byte) (v >>> 8);
        b[off + 3] = (byte) v;
    }

    static void putLong(byte[] b, int off, long v) {
        putInt(b, off, (int) (v >>> 32));
        putInt(b, off + 4, (int) v);
    }

    /** fsync of a directory, so that creations, renames and deletions in it are durable. */
    static void fsyncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    static void writeFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
        long pos = position;
        while (buf.hasRemaining()) {
            pos += ch.write(buf, pos);
        }
    }

    /** Closes c, logging (not throwing) a failure: for clean-up on a path that already failed. */
    static void closeQuietly(AutoCloseable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Exception e) {
            LOG.log(System.Logger.Level.DEBUG, "close", e);
        }
    }

    /** Reads a whole file; files above {@link #MAX_FILE} are refused as implausible. */
    static byte[] readAll(Path file) throws IOException, JournalCorruptedException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size > MAX_FILE) {
                throw new JournalCorruptedException(file, -1, "implausible size " + size + " bytes");
            }
            byte[] b = new byte[(int) size];
            ByteBuffer bb = ByteBuffer.wrap(b);
            while (bb.hasRemaining()) {
                if (ch.read(bb, bb.position()) < 0) {
                    break; // the file shrank under us: parse what we have, the checks catch it
                }
            }
            return bb.position() == b.length ? b : java.util.Arrays.copyOf(b, bb.position());
        }
    }
}
