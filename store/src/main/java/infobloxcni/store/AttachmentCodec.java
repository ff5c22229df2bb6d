package infobloxcni.store;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.DateTimeException;
import java.time.Instant;
import java.util.Arrays;

/**
 * Binary encoding of attachments and keys, record version 3 (see docs/journal.md); versions 1
 * (no pod name) and 2 (no flags) are still read.
 *
 * <pre>
 * string   := i32 length (-1 = null) , UTF-8 bytes
 * instant  := u8 present (0|1) [, i64 epochSecond , i32 nano]
 * key      := string network , string containerId , string ifName      (never null)
 * attachment := key , u8 state code , string address , i32 prefixLength , string gateway ,
 *               string ref , string networkView , string cidr , string mac ,
 *               instant created , instant updated , i32 attempts , string lastError ,
 *               string podName                                                   (version 2 and later)
 *               u8 flags (bit 0: the address was requested by the runtime)      (version 3 and later)
 * </pre>
 *
 * All integers are big-endian.
 */
final class AttachmentCodec {
    private AttachmentCodec() {}

    /** Thrown by the decoder; the caller turns it into a {@link JournalCorruptedException}. */
    static final class MalformedException extends Exception {
        private static final long serialVersionUID = 1L;

        MalformedException(String message) {
            super(message);
        }
    }

    static byte[] encodeAttachment(Attachment a) {
        Out out = new Out(128);
        writeAttachment(out, a);
        return out.toByteArray();
    }

    static byte[] encodeKey(AttachmentKey k) {
        Out out = new Out(64);
        writeKey(out, k);
        return out.toByteArray();
    }

    static void writeKey(Out out, AttachmentKey k) {
        out.str(k.network());
        out.str(k.containerId());
        out.str(k.ifName());
    }

    static void writeAttachment(Out out, Attachment a) {
        writeKey(out, a.key());
        out.u8(a.state().code());
        out.str(a.address());
        out.i32(a.prefixLength());
        out.str(a.gateway());
        out.str(a.ref());
        out.str(a.networkView());
        out.str(a.cidr());
        out.str(a.mac());
        out.instant(a.created());
        out.instant(a.updated());
        out.i32(a.attempts());
        out.str(a.lastError());
        out.str(a.podName());
        out.u8(a.requested() ? FLAG_REQUESTED : 0);
    }

    /** Bit 0 of a record's flags: the runtime asked for the address; its DEL never gives it to the pool. */
    static final int FLAG_REQUESTED = 1;

    static AttachmentKey readKey(In in) throws MalformedException {
        String network = in.str();
        String containerId = in.str();
        String ifName = in.str();
        try {
            return new AttachmentKey(network, containerId, ifName);
        } catch (RuntimeException e) {
            throw new MalformedException("invalid key: " + e.getMessage());
        }
    }

    /** The record version {@link #writeAttachment} writes. */
    static final int RECORD_VERSION = 3;

    /** Whether a record of this version can be read. */
    static boolean readable(int recordVersion) {
        return recordVersion >= 1 && recordVersion <= RECORD_VERSION;
    }

    /**
     * The record version in {@code versionByte} (a record's first payload byte, in the log or the
     * snapshot), refused, naming the file and offset, when this build cannot read it.
     */
    static int readableVersion(byte versionByte, java.nio.file.Path file, long offset)
            throws JournalCorruptedException {
        int version = versionByte & 0xff;
        if (!readable(version))
            throw new JournalCorruptedException(
                    file,
                    offset,
                    "unsupported record version " + version + " (this build reads 1 to " + RECORD_VERSION + ")");
        return version;
    }

    static Attachment readAttachment(In in, int recordVersion) throws MalformedException {
        AttachmentKey key = readKey(in);
        int code = in.u8();
        AttachmentState state = AttachmentState.ofCode(code);
        if (state == null) {
            throw new MalformedException("unknown attachment state code " + code);
        }
        String address = in.str();
        int prefixLength = in.i32();
        String gateway = in.str();
        String ref = in.str();
        String networkView = in.str();
        String cidr = in.str();
        String mac = in.str();
        Instant created = in.instant();
        Instant updated = in.instant();
        int attempts = in.i32();
        String lastError = in.str();
        String podName = recordVersion >= 2 ? in.str() : null;
        int flags = recordVersion >= 3 ? in.u8() : 0;
        if ((flags & ~FLAG_REQUESTED) != 0) throw new MalformedException("unknown attachment flags " + flags);
        try {
            return new Attachment(
                    key,
                    state,
                    address,
                    prefixLength,
                    gateway,
                    ref,
                    networkView,
                    cidr,
                    mac,
                    created,
                    updated,
                    attempts,
                    lastError,
                    podName,
                    (flags & FLAG_REQUESTED) != 0);
        } catch (RuntimeException e) {
            throw new MalformedException("invalid attachment: " + e.getMessage());
        }
    }

    /** A growable big-endian byte writer. */
    static final class Out {
        private byte[] buf;
        private int n;

        Out(int capacity) {
            buf = new byte[capacity];
        }

        private void ensure(int more) {
            if (n + more > buf.length) {
                buf = Arrays.copyOf(buf, Math.max(buf.length * 2, n + more));
            }
        }

        void u8(int v) {
            ensure(1);
            buf[n++] = (byte) v;
        }

        void i32(int v) {
            ensure(4);
            buf[n++] = (byte) (v >>> 24);
            buf[n++] = (byte) (v >>> 16);
            buf[n++] = (byte) (v >>> 8);
            buf[n++] = (byte) v;
        }

        void i64(long v) {
            i32((int) (v >>> 32));
            i32((int) v);
        }

        void bytes(byte[] b) {
            ensure(b.length);
            System.arraycopy(b, 0, buf, n, b.length);
            n += b.length;
        }

        void str(String s) {
            if (s == null) {
                i32(-1);
                return;
            }
            byte[] b = utf8(s);
            i32(b.length);
            bytes(b);
        }

        void instant(Instant t) {
            if (t == null) {
                u8(0);
                return;
            }
            u8(1);
            i64(t.getEpochSecond());
            i32(t.getNano());
        }

        int size() {
            return n;
        }

        byte[] toByteArray() {
            return Arrays.copyOf(buf, n);
        }
    }

    /** UTF-8 bytes of s; rejects strings that would not round-trip (unpaired surrogates). */
    static byte[] utf8(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (Character.isSurrogate(s.charAt(i))) {
                try {
                    ByteBuffer bb = StandardCharsets.UTF_8
                            .newEncoder()
                            .onMalformedInput(CodingErrorAction.REPORT)
                            .onUnmappableCharacter(CodingErrorAction.REPORT)
                            .encode(CharBuffer.wrap(s));
                    byte[] out = new byte[bb.remaining()];
                    bb.get(out);
                    return out;
                } catch (CharacterCodingException e) {
                    throw new IllegalArgumentException("string is not valid Unicode (unpaired surrogate)", e);
                }
            }
        }
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** A bounds-checked big-endian reader over part of an array. */
    static final class In {
        private final byte[] b;
        private int pos;
        private final int end;

        In(byte[] b, int offset, int length) {
            this.b = b;
            this.pos = offset;
            this.end = offset + length;
        }

        private void need(int k) throws MalformedException {
            if (k < 0 || end - pos < k) {
                throw new MalformedException(
                        "record body ends early (needs " + k + " more bytes, has " + (end - pos) + ")");
            }
        }

        int u8() throws MalformedException {
            need(1);
            return b[pos++] & 0xff;
        }

        int i32() throws MalformedException {
            need(4);
            int v = ((b[pos] & 0xff) << 24)
                    | ((b[pos + 1] & 0xff) << 16)
                    | ((b[pos + 2] & 0xff) << 8)
                    | (b[pos + 3] & 0xff);
            pos += 4;
            return v;
        }

        long i64() throws MalformedException {
            long hi = i32() & 0xffffffffL;
            long lo = i32() & 0xffffffffL;
            return (hi << 32) | lo;
        }

        String str() throws MalformedException {
            int len = i32();
            if (len == -1) {
                return null;
            }
            if (len < -1) {
                throw new MalformedException("negative string length " + len);
            }
            need(len);
            String s = new String(b, pos, len, StandardCharsets.UTF_8);
            pos += len;
            return s;
        }

        Instant instant() throws MalformedException {
            int present = u8();
            if (present == 0) {
                return null;
            }
            if (present != 1) {
                throw new MalformedException("bad instant marker " + present);
            }
            long sec = i64();
            int nano = i32();
            try {
                return Instant.ofEpochSecond(sec, nano);
            } catch (DateTimeException | ArithmeticException e) {
                throw new MalformedException("bad instant " + sec + "s " + nano + "ns");
            }
        }

        void expectEnd() throws MalformedException {
            if (pos != end) {
                throw new MalformedException((end - pos) + " unexpected bytes after the record body");
            }
        }
    }
}
