package infobloxcni.wire;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * The codec of the plugin-to-daemon wire protocol (see docs/wire-protocol.md). JDK only, shared by
 * the plugin executable, the daemon, the recover command and the benchmark.
 *
 * <pre>
 * request  = "IBCNI" 0x01  u16 count  count * ( u16 nameLen  name(UTF-8)  u32 valueLen  value )
 * response = "IBCNI" 0x01  u8 exitCode  u32 stdoutLen  stdout
 * </pre>
 *
 * All integers are unsigned big-endian. A request carries every {@code CNI_*} environment variable
 * as a field named after it, plus exactly one field named {@code STDIN} holding the network
 * configuration bytes exactly as the plugin received them. One request and one response per
 * connection.
 *
 * <p>Readers enforce the limits below before allocating, so a hostile or corrupt peer gets a
 * {@link MalformedEnvelopeException}, never an {@link OutOfMemoryError}. The readers consume exactly
 * one envelope and never read past it; callers that read from a socket may wrap the stream in a
 * {@link java.io.BufferedInputStream} themselves.
 *
 * <p>The byte arrays held by {@link Request} and {@link Response} are not copied (they can be
 * megabytes): do not modify them after handing them over.
 */
public final class Envelope {

    /** The five magic bytes every envelope starts with: ASCII {@code IBCNI}. */
    public static final byte[] MAGIC = {'I', 'B', 'C', 'N', 'I'};
    /** The only protocol version this codec speaks. */
    public static final int VERSION = 1;
    /** Name of the request field that carries the raw network configuration (stdin). */
    public static final String STDIN_FIELD = "STDIN";
    /** Most fields in one request, {@code STDIN} included. */
    public static final int MAX_FIELDS = 64;
    /** Longest field name, in UTF-8 bytes. */
    public static final int MAX_NAME_BYTES = 256;
    /** Longest field value (and longest response stdout), in bytes. */
    public static final int MAX_VALUE_BYTES = 4 * 1024 * 1024;
    /** Largest whole request on the wire (header and every field header included), in bytes. */
    public static final int MAX_TOTAL_BYTES = 8 * 1024 * 1024;

    private static final int HEADER_BYTES = MAGIC.length + 1;

    private Envelope() {}

    /** A violation of the envelope format or of its limits. */
    public static class MalformedEnvelopeException extends IOException {
        private static final long serialVersionUID = 1L;

        public MalformedEnvelopeException(String message) {
            super(message);
        }
    }

    /**
     * The stream ended before the envelope was complete: the peer hung up (or crashed) rather than
     * sending garbage. {@link #endedBeforeFirstByte()} tells a connection that carried no byte at
     * all (a probe, a peer that gave up) from one cut short.
     */
    public static final class TruncatedEnvelopeException extends MalformedEnvelopeException {
        private static final long serialVersionUID = 1L;
        private final boolean endedBeforeFirstByte;

        public TruncatedEnvelopeException(String message, boolean endedBeforeFirstByte) {
            super(message);
            this.endedBeforeFirstByte = endedBeforeFirstByte;
        }

        /** True when the stream ended before the first byte of the envelope. */
        public boolean endedBeforeFirstByte() {
            return endedBeforeFirstByte;
        }
    }

    /**
     * What the plugin forwards: its {@code CNI_*} environment and its stdin.
     *
     * @param env   environment variables by name (iteration order is by name); never contains
     *              {@value #STDIN_FIELD}
     * @param stdin the network configuration bytes exactly as received, not copied
     */
    public record Request(Map<String, String> env, byte[] stdin) {

        /**
         * Checks the limits, so that every {@code Request} can be written.
         *
         * @throws IllegalArgumentException naming the offending variable when a limit is exceeded
         */
        public Request {
            if (env == null) {
                throw new IllegalArgumentException("env is null");
            }
            if (stdin == null) {
                throw new IllegalArgumentException("stdin is null");
            }
            TreeMap<String, String> sorted = new TreeMap<>();
            for (Map.Entry<String, String> e : env.entrySet()) {
                String name = e.getKey();
                String value = e.getValue();
                if (name == null || name.isEmpty()) {
                    throw new IllegalArgumentException("environment variable with an empty name");
                }
                if (value == null) {
                    throw new IllegalArgumentException("environment variable " + name + " has no value");
                }
                if (STDIN_FIELD.equals(name)) {
                    throw new IllegalArgumentException("field name " + STDIN_FIELD + " is reserved for stdin");
                }
                sorted.put(name, value);
            }
            if (sorted.size() + 1 > MAX_FIELDS) {
                throw new IllegalArgumentException("too many environment variables to forward: " + sorted.size()
                        + " (at most " + (MAX_FIELDS - 1) + ")");
            }
            if (stdin.length > MAX_VALUE_BYTES) {
                throw new IllegalArgumentException(
                        "stdin is " + stdin.length + " bytes, more than the limit of " + MAX_VALUE_BYTES);
            }
            long total = HEADER_BYTES + 2L + 2 + STDIN_FIELD.length() + 4 + stdin.length;
            for (Map.Entry<String, String> e : sorted.entrySet()) {
                int nameLen = utf8Length(e.getKey());
                int valueLen = utf8Length(e.getValue());
                if (nameLen > MAX_NAME_BYTES) {
                    throw new IllegalArgumentException("environment variable name is " + nameLen
                            + " bytes, more than the limit of " + MAX_NAME_BYTES + ": " + abbreviate(e.getKey()));
                }
                if (valueLen > MAX_VALUE_BYTES) {
                    throw new IllegalArgumentException("environment variable " + e.getKey() + " is " + valueLen
                            + " bytes, more than the limit of " + MAX_VALUE_BYTES);
                }
                total += 2L + nameLen + 4 + valueLen;
            }
            if (total > MAX_TOTAL_BYTES) {
                throw new IllegalArgumentException(
                        "request would be " + total + " bytes, more than the limit of " + MAX_TOTAL_BYTES);
            }
            env = Collections.unmodifiableMap(sorted);
        }

        /**
         * Reads exactly one request.
         *
         * @throws MalformedEnvelopeException on bad magic or version, truncation
         *                                    ({@link TruncatedEnvelopeException}), a limit exceeded, a
         *                                    duplicate or missing field, or a name or environment value
         *                                    that is not valid UTF-8
         * @throws IOException                when the stream fails
         */
        public static Request read(InputStream in) throws IOException {
            readHeader(in, "request");
            int count = readU16(in, "request field count");
            if (count > MAX_FIELDS) {
                throw new MalformedEnvelopeException(
                        "request has " + count + " fields, more than the limit of " + MAX_FIELDS);
            }
            long total = HEADER_BYTES + 2;
            TreeMap<String, String> env = new TreeMap<>();
            byte[] stdin = null;
            for (int i = 0; i < count; i++) {
                int nameLen = readU16(in, "length of field name #" + (i + 1));
                if (nameLen == 0) {
                    throw new MalformedEnvelopeException("request field #" + (i + 1) + " has an empty name");
                }
                if (nameLen > MAX_NAME_BYTES) {
                    throw new MalformedEnvelopeException("request field #" + (i + 1) + " name is " + nameLen
                            + " bytes, more than the limit of " + MAX_NAME_BYTES);
                }
                String name = decodeUtf8(
                        readExactly(in, nameLen, "name of field #" + (i + 1)), "name of request field #" + (i + 1));
                long valueLen = readU32(in, "length of field " + name);
                if (valueLen > MAX_VALUE_BYTES) {
                    throw new MalformedEnvelopeException("request field " + name + " is " + valueLen
                            + " bytes, more than the limit of " + MAX_VALUE_BYTES);
                }
                total += 2L + nameLen + 4 + valueLen;
                if (total > MAX_TOTAL_BYTES) {
                    throw new MalformedEnvelopeException(
                            "request is more than the limit of " + MAX_TOTAL_BYTES + " bytes (at field " + name + ")");
                }
                byte[] value = readExactly(in, (int) valueLen, "value of field " + name);
                if (STDIN_FIELD.equals(name)) {
                    if (stdin != null) {
                        throw new MalformedEnvelopeException("request has field " + STDIN_FIELD + " twice");
                    }
                    stdin = value;
                } else if (env.put(name, decodeUtf8(value, "value of request field " + name)) != null) {
                    throw new MalformedEnvelopeException("request has field " + name + " twice");
                }
            }
            if (stdin == null) {
                throw new MalformedEnvelopeException("request has no " + STDIN_FIELD + " field");
            }
            return new Request(env, stdin);
        }

        /** Writes this request as one envelope (a single {@code write} call), then flushes. */
        public void write(OutputStream out) throws IOException {
            out.write(toBytes());
            out.flush();
        }

        /** This request as it goes on the wire. */
        public byte[] toBytes() {
            int n = env.size() + 1;
            byte[][] names = new byte[n][];
            byte[][] values = new byte[n][];
            int size = HEADER_BYTES + 2;
            int i = 0;
            for (Map.Entry<String, String> e : env.entrySet()) {
                names[i] = e.getKey().getBytes(StandardCharsets.UTF_8);
                values[i] = e.getValue().getBytes(StandardCharsets.UTF_8);
                size += 2 + names[i].length + 4 + values[i].length;
                i++;
            }
            names[i] = STDIN_FIELD.getBytes(StandardCharsets.US_ASCII);
            values[i] = stdin;
            size += 2 + names[i].length + 4 + values[i].length;
            ByteBuffer buf = ByteBuffer.allocate(size);
            buf.put(MAGIC).put((byte) VERSION).putShort((short) n);
            for (int k = 0; k < n; k++) {
                buf.putShort((short) names[k].length)
                        .put(names[k])
                        .putInt(values[k].length)
                        .put(values[k]);
            }
            return buf.array();
        }

        /** Compares the environment and the stdin content. */
        @Override
        public boolean equals(Object o) {
            return o instanceof Request r && env.equals(r.env) && Arrays.equals(stdin, r.stdin);
        }

        @Override
        public int hashCode() {
            return env.hashCode() * 31 + Arrays.hashCode(stdin);
        }

        @Override
        public String toString() {
            return "Request[env=" + env + ", stdin=" + stdin.length + " bytes]";
        }
    }

    /**
     * What the daemon answers: the plugin's exit code and exactly what it prints on stdout.
     *
     * @param exitCode 0..255
     * @param stdout   the CNI result or error JSON (may be empty), not copied
     */
    public record Response(int exitCode, byte[] stdout) {

        /** @throws IllegalArgumentException when the exit code or the stdout size is out of range */
        public Response {
            if (exitCode < 0 || exitCode > 255) {
                throw new IllegalArgumentException("exit code " + exitCode + " is not in 0..255");
            }
            if (stdout == null) {
                throw new IllegalArgumentException("stdout is null");
            }
            if (stdout.length > MAX_VALUE_BYTES) {
                throw new IllegalArgumentException(
                        "stdout is " + stdout.length + " bytes, more than the limit of " + MAX_VALUE_BYTES);
            }
        }

        /** Convenience: a response whose stdout is the UTF-8 encoding of {@code stdout}. */
        public static Response of(int exitCode, String stdout) {
            return new Response(exitCode, stdout.getBytes(StandardCharsets.UTF_8));
        }

        /**
         * Reads exactly one response.
         *
         * @throws MalformedEnvelopeException on bad magic or version, truncation or a limit exceeded
         * @throws IOException                when the stream fails
         */
        public static Response read(InputStream in) throws IOException {
            readHeader(in, "response");
            int exitCode = readExactly(in, 1, "response exit code")[0] & 0xff;
            long len = readU32(in, "response stdout length");
            if (len > MAX_VALUE_BYTES) {
                throw new MalformedEnvelopeException(
                        "response stdout is " + len + " bytes, more than the limit of " + MAX_VALUE_BYTES);
            }
            return new Response(exitCode, readExactly(in, (int) len, "response stdout"));
        }

        /** Writes this response as one envelope (a single {@code write} call), then flushes. */
        public void write(OutputStream out) throws IOException {
            out.write(toBytes());
            out.flush();
        }

        /** This response as it goes on the wire. */
        public byte[] toBytes() {
            ByteBuffer buf = ByteBuffer.allocate(HEADER_BYTES + 1 + 4 + stdout.length);
            buf.put(MAGIC)
                    .put((byte) VERSION)
                    .put((byte) exitCode)
                    .putInt(stdout.length)
                    .put(stdout);
            return buf.array();
        }

        /** Compares the exit code and the stdout content. */
        @Override
        public boolean equals(Object o) {
            return o instanceof Response r && exitCode == r.exitCode && Arrays.equals(stdout, r.stdout);
        }

        @Override
        public int hashCode() {
            return exitCode * 31 + Arrays.hashCode(stdout);
        }

        @Override
        public String toString() {
            return "Response[exitCode=" + exitCode + ", stdout=" + new String(stdout, StandardCharsets.UTF_8) + "]";
        }
    }

    // ---- helpers ----------------------------------------------------------------------------

    private static void readHeader(InputStream in, String what) throws IOException {
        byte[] first = in.readNBytes(1);
        if (first.length == 0) {
            throw new TruncatedEnvelopeException("empty " + what + ": the stream ended before the first byte", true);
        }
        byte[] rest = readExactly(in, HEADER_BYTES - 1, what + " header");
        byte[] header = new byte[HEADER_BYTES];
        header[0] = first[0];
        System.arraycopy(rest, 0, header, 1, rest.length);
        if (!Arrays.equals(header, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
            throw new MalformedEnvelopeException("bad magic in " + what + ": expected \"IBCNI\", got "
                    + hex(header, MAGIC.length) + " (not an infoblox-cni envelope)");
        }
        int version = header[MAGIC.length] & 0xff;
        if (version != VERSION) {
            throw new MalformedEnvelopeException(
                    "unsupported " + what + " envelope version " + version + " (this side speaks version " + VERSION
                            + "; are the plugin and the daemon from the same release?)");
        }
    }

    private static int readU16(InputStream in, String what) throws IOException {
        byte[] b = readExactly(in, 2, what);
        return ((b[0] & 0xff) << 8) | (b[1] & 0xff);
    }

    private static long readU32(InputStream in, String what) throws IOException {
        byte[] b = readExactly(in, 4, what);
        return ((long) (b[0] & 0xff) << 24) | ((b[1] & 0xff) << 16) | ((b[2] & 0xff) << 8) | (b[3] & 0xff);
    }

    /** Reads exactly {@code n} bytes; {@code readNBytes} grows its buffer as data arrives. */
    private static byte[] readExactly(InputStream in, int n, String what) throws IOException {
        byte[] b;
        try {
            b = in.readNBytes(n);
        } catch (EOFException e) {
            b = new byte[0];
        }
        if (b.length != n) {
            throw new TruncatedEnvelopeException(
                    "truncated envelope: the stream ended after " + b.length + " of the " + n + " bytes of " + what,
                    false);
        }
        return b;
    }

    private static String decodeUtf8(byte[] bytes, String what) throws MalformedEnvelopeException {
        try {
            CharBuffer chars = StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes));
            return chars.toString();
        } catch (CharacterCodingException e) {
            throw new MalformedEnvelopeException(what + " is not valid UTF-8");
        }
    }

    private static int utf8Length(String s) {
        int len = 0;
        for (int i = 0, n = s.length(); i < n; i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                len += 1;
            } else if (c < 0x800) {
                len += 2;
            } else if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
                len += 4;
                i++;
            } else {
                len += 3; // unpaired surrogates encode as '?' (1 byte): 3 over-estimates, which is safe
            }
        }
        return len;
    }

    private static String abbreviate(String s) {
        return s.length() <= 40 ? s : s.substring(0, 40) + "...";
    }

    private static String hex(byte[] b, int n) {
        StringBuilder sb = new StringBuilder(n * 2);
        for (int i = 0; i < n; i++) {
            sb.append(Character.forDigit((b[i] >> 4) & 0xf, 16)).append(Character.forDigit(b[i] & 0xf, 16));
        }
        return "0x" + sb;
    }
}
