package infobloxcni.wire;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import infobloxcni.wire.Envelope.MalformedEnvelopeException;
import infobloxcni.wire.Envelope.Request;
import infobloxcni.wire.Envelope.Response;
import infobloxcni.wire.Envelope.TruncatedEnvelopeException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EnvelopeTest {

    private static final byte[] CONF = "{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"ipam\":{\"type\":\"infoblox\"}}"
            .getBytes(StandardCharsets.UTF_8);

    private static Map<String, String> cniEnv() {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("CNI_COMMAND", "ADD");
        env.put("CNI_CONTAINERID", "c1");
        env.put("CNI_NETNS", "/var/run/netns/c1");
        env.put("CNI_IFNAME", "eth0");
        env.put("CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAME=p\u00e9");
        env.put("CNI_PATH", "/opt/cni/bin:/usr/lib/cni");
        return env;
    }

    private static Request roundTrip(Request r) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        r.write(out);
        assertArrayEquals(r.toBytes(), out.toByteArray());
        ByteArrayInputStream in = new ByteArrayInputStream(out.toByteArray());
        Request back = Request.read(in);
        assertEquals(0, in.available(), "reads exactly one envelope");
        return back;
    }

    private static Response roundTrip(Response r) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        r.write(out);
        ByteArrayInputStream in = new ByteArrayInputStream(out.toByteArray());
        Response back = Response.read(in);
        assertEquals(0, in.available(), "reads exactly one envelope");
        return back;
    }

    /** Builds a request envelope by hand: fields given as name, value pairs of raw bytes. */
    private static byte[] rawRequest(int version, int declaredCount, byte[]... nameValues) {
        ByteBuffer b = ByteBuffer.allocate(
                64 + Arrays.stream(nameValues).mapToInt(x -> x.length + 6).sum());
        b.put(Envelope.MAGIC).put((byte) version).putShort((short) declaredCount);
        for (int i = 0; i < nameValues.length; i += 2) {
            b.putShort((short) nameValues[i].length).put(nameValues[i]);
            b.putInt(nameValues[i + 1].length).put(nameValues[i + 1]);
        }
        return Arrays.copyOf(b.array(), b.position());
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static MalformedEnvelopeException malformedRequest(byte[] bytes) {
        return assertThrows(MalformedEnvelopeException.class, () -> Request.read(new ByteArrayInputStream(bytes)));
    }

    private static MalformedEnvelopeException malformedResponse(byte[] bytes) {
        return assertThrows(MalformedEnvelopeException.class, () -> Response.read(new ByteArrayInputStream(bytes)));
    }

    // ---- round trips ----------------------------------------------------------------------------

    @Test
    void requestRoundTrip() throws IOException {
        Request r = new Request(cniEnv(), CONF);
        Request back = roundTrip(r);
        assertEquals(r, back);
        assertEquals(cniEnv(), back.env());
        assertArrayEquals(CONF, back.stdin());
        assertEquals(
                List.of("CNI_ARGS", "CNI_COMMAND", "CNI_CONTAINERID", "CNI_IFNAME", "CNI_NETNS", "CNI_PATH"),
                List.copyOf(back.env().keySet()),
                "fields go out sorted by name");
    }

    @Test
    void requestRoundTripEmptyEnvAndStdin() throws IOException {
        Request r = new Request(Map.of(), new byte[0]);
        assertEquals(r, roundTrip(r));
        assertEquals(6 + 2 + 2 + 5 + 4, r.toBytes().length);
    }

    @Test
    void requestStdinBytesAreKeptExactly() throws IOException {
        byte[] notUtf8 = {(byte) 0xff, 0, (byte) 0xc3, '{', '\n'};
        assertArrayEquals(
                notUtf8,
                roundTrip(new Request(Map.of("CNI_COMMAND", "ADD"), notUtf8)).stdin());
    }

    @Test
    void requestAtTheLimits() throws IOException {
        Map<String, String> env = new LinkedHashMap<>();
        for (int i = 0; i < Envelope.MAX_FIELDS - 2; i++) {
            env.put("CNI_X" + i, "v" + i);
        }
        env.put("N".repeat(Envelope.MAX_NAME_BYTES), "x".repeat(1000));
        byte[] stdin = new byte[Envelope.MAX_VALUE_BYTES];
        Arrays.fill(stdin, (byte) 'a');
        Request r = new Request(env, stdin);
        assertEquals(r, roundTrip(r));
    }

    @Test
    void requestRejectsWhatItCouldNotWrite() {
        assertThrows(IllegalArgumentException.class, () -> new Request(Map.of("STDIN", "x"), CONF));
        assertThrows(IllegalArgumentException.class, () -> new Request(Map.of("", "x"), CONF));
        assertThrows(IllegalArgumentException.class, () -> new Request(Map.of("N".repeat(257), "x"), CONF));
        assertThrows(IllegalArgumentException.class, () -> new Request(null, CONF));
        assertThrows(IllegalArgumentException.class, () -> new Request(Map.of(), null));
        assertThrows(
                IllegalArgumentException.class, () -> new Request(Map.of(), new byte[Envelope.MAX_VALUE_BYTES + 1]));
        Map<String, String> many = new LinkedHashMap<>();
        for (int i = 0; i < Envelope.MAX_FIELDS; i++) {
            many.put("CNI_X" + i, "v");
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Request(many, CONF));
        assertTrue(e.getMessage().contains("too many"), e.getMessage());
        // three 3 MiB values pass one by one but not together
        Map<String, String> big = Map.of("A", "a".repeat(3 << 20), "B", "b".repeat(3 << 20));
        e = assertThrows(IllegalArgumentException.class, () -> new Request(big, new byte[3 << 20]));
        assertTrue(e.getMessage().contains("limit of " + Envelope.MAX_TOTAL_BYTES), e.getMessage());
    }

    @Test
    void requestEnvIsReadOnlyAndValueEquality() {
        Request r = new Request(cniEnv(), CONF);
        assertThrows(UnsupportedOperationException.class, () -> r.env().put("CNI_X", "y"));
        assertEquals(r, new Request(cniEnv(), CONF.clone()));
        assertEquals(r.hashCode(), new Request(cniEnv(), CONF.clone()).hashCode());
        assertFalse(r.equals(new Request(cniEnv(), new byte[0])));
        assertTrue(r.toString().contains(CONF.length + " bytes"));
    }

    @Test
    void responseRoundTrip() throws IOException {
        for (int code : new int[] {0, 1, 7, 255}) {
            Response r = Response.of(code, "{\"cniVersion\":\"1.1.0\",\"code\":7,\"msg\":\"\u00e9\\\"x\"}\n");
            assertEquals(r, roundTrip(r));
        }
        Response empty = new Response(0, new byte[0]);
        assertEquals(empty, roundTrip(empty));
        assertEquals(6 + 1 + 4, empty.toBytes().length);
    }

    @Test
    void responseRejectsWhatItCouldNotWrite() {
        assertThrows(IllegalArgumentException.class, () -> new Response(-1, new byte[0]));
        assertThrows(IllegalArgumentException.class, () -> new Response(256, new byte[0]));
        assertThrows(IllegalArgumentException.class, () -> new Response(0, null));
        assertThrows(IllegalArgumentException.class, () -> new Response(0, new byte[Envelope.MAX_VALUE_BYTES + 1]));
    }

    @Test
    void wireBytesAreAsDocumented() {
        byte[] b = new Request(Map.of("CNI_COMMAND", "DEL"), utf8("{}")).toBytes();
        byte[] expected = {
            'I', 'B', 'C', 'N', 'I', 1, 0, 2, 0, 11, 'C', 'N', 'I', '_', 'C', 'O', 'M', 'M', 'A', 'N', 'D', 0, 0, 0, 3,
            'D', 'E', 'L', 0, 5, 'S', 'T', 'D', 'I', 'N', 0, 0, 0, 2, '{', '}'
        };
        assertArrayEquals(expected, b);
        assertArrayEquals(
                new byte[] {'I', 'B', 'C', 'N', 'I', 1, 3, 0, 0, 0, 2, '{', '}'},
                Response.of(3, "{}").toBytes());
    }

    @Test
    void readsOneEnvelopeAndLeavesTheRest() throws IOException {
        byte[] one = Response.of(0, "a").toBytes();
        byte[] two = Response.of(1, "b").toBytes();
        InputStream in = new SequenceInputStream(new ByteArrayInputStream(one), new ByteArrayInputStream(two));
        assertEquals(Response.of(0, "a"), Response.read(in));
        assertEquals(Response.of(1, "b"), Response.read(in));
    }

    // ---- malformed input --------------------------------------------------------------------------

    @Test
    void emptyStream() {
        MalformedEnvelopeException e = malformedRequest(new byte[0]);
        assertTrue(assertInstanceOf(TruncatedEnvelopeException.class, e).endedBeforeFirstByte());
        e = malformedResponse(new byte[0]);
        assertTrue(assertInstanceOf(TruncatedEnvelopeException.class, e).endedBeforeFirstByte());
    }

    @Test
    void badMagic() {
        byte[] b = new Request(cniEnv(), CONF).toBytes();
        b[2] = 'X';
        MalformedEnvelopeException e = malformedRequest(b);
        assertTrue(e.getMessage().contains("bad magic"), e.getMessage());
        assertFalse(e instanceof TruncatedEnvelopeException);
        byte[] http = utf8("GET / HTTP/1.1\r\n\r\n");
        assertTrue(malformedRequest(http).getMessage().contains("bad magic"));
        byte[] r = Response.of(0, "x").toBytes();
        r[0] = 'i';
        assertTrue(malformedResponse(r).getMessage().contains("bad magic"));
    }

    @Test
    void wrongVersion() {
        for (int v : new int[] {0, 2, 255}) {
            byte[] b = new Request(cniEnv(), CONF).toBytes();
            b[5] = (byte) v;
            MalformedEnvelopeException e = malformedRequest(b);
            assertTrue(e.getMessage().contains("version " + v), e.getMessage());
            byte[] r = Response.of(0, "x").toBytes();
            r[5] = (byte) v;
            assertTrue(malformedResponse(r).getMessage().contains("version " + v));
        }
    }

    @Test
    void truncatedAtEveryByte() {
        byte[] req = new Request(cniEnv(), CONF).toBytes();
        for (int n = 1; n < req.length; n++) {
            MalformedEnvelopeException e = malformedRequest(Arrays.copyOf(req, n));
            assertInstanceOf(TruncatedEnvelopeException.class, e, "request cut at " + n);
            assertFalse(((TruncatedEnvelopeException) e).endedBeforeFirstByte());
        }
        byte[] resp = Response.of(0, "{\"ips\":[]}").toBytes();
        for (int n = 1; n < resp.length; n++) {
            assertInstanceOf(
                    TruncatedEnvelopeException.class,
                    malformedResponse(Arrays.copyOf(resp, n)),
                    "response cut at " + n);
        }
    }

    @Test
    void tooManyFields() {
        MalformedEnvelopeException e = malformedRequest(rawRequest(1, 65));
        assertTrue(e.getMessage().contains("65 fields"), e.getMessage());
        assertTrue(malformedRequest(rawRequest(1, 0xffff)).getMessage().contains("65535 fields"));
    }

    @Test
    void oversizedNameLength() {
        byte[] b = rawRequest(1, 1, utf8("N".repeat(257)), utf8("v"));
        assertTrue(malformedRequest(b).getMessage().contains("257 bytes"));
        // a declared length alone (no bytes behind it) is rejected before anything is allocated
        byte[] claim = {'I', 'B', 'C', 'N', 'I', 1, 0, 1, (byte) 0xff, (byte) 0xff};
        assertTrue(malformedRequest(claim).getMessage().contains("65535 bytes"));
    }

    @Test
    void emptyName() {
        assertTrue(malformedRequest(rawRequest(1, 1, new byte[0], utf8("v")))
                .getMessage()
                .contains("empty name"));
    }

    @Test
    void oversizedValueLengthIsRejectedBeforeAllocation() {
        for (long len : new long[] {Envelope.MAX_VALUE_BYTES + 1L, 0x7fffffffL, 0x80000000L, 0xffffffffL}) {
            ByteBuffer b = ByteBuffer.allocate(6 + 2 + 2 + 5 + 4);
            b.put(Envelope.MAGIC)
                    .put((byte) 1)
                    .putShort((short) 1)
                    .putShort((short) 5)
                    .put(utf8("STDIN"))
                    .putInt((int) len);
            MalformedEnvelopeException e = malformedRequest(b.array());
            assertTrue(e.getMessage().contains(len + " bytes"), e.getMessage());
            ByteBuffer r = ByteBuffer.allocate(11);
            r.put(Envelope.MAGIC).put((byte) 1).put((byte) 0).putInt((int) len);
            assertTrue(malformedResponse(r.array()).getMessage().contains(len + " bytes"));
        }
    }

    @Test
    void totalSizeLimit() {
        byte[] three = new byte[3 << 20];
        byte[] b = rawRequest(1, 3, utf8("A"), three, utf8("B"), three, utf8("STDIN"), three);
        MalformedEnvelopeException e = malformedRequest(b);
        assertTrue(e.getMessage().contains("limit of " + Envelope.MAX_TOTAL_BYTES), e.getMessage());
    }

    @Test
    void duplicateAndMissingFields() {
        assertTrue(malformedRequest(rawRequest(1, 2, utf8("STDIN"), utf8("{}"), utf8("STDIN"), utf8("{}")))
                .getMessage()
                .contains("STDIN twice"));
        assertTrue(malformedRequest(
                        rawRequest(1, 3, utf8("CNI_A"), utf8("1"), utf8("CNI_A"), utf8("2"), utf8("STDIN"), utf8("{}")))
                .getMessage()
                .contains("CNI_A twice"));
        assertTrue(malformedRequest(rawRequest(1, 1, utf8("CNI_A"), utf8("1")))
                .getMessage()
                .contains("no STDIN"));
        assertTrue(malformedRequest(rawRequest(1, 0)).getMessage().contains("no STDIN"));
    }

    @Test
    void invalidUtf8InNamesAndEnvValues() {
        byte[] bad = {'C', (byte) 0xc3, (byte) 0x28};
        assertTrue(malformedRequest(rawRequest(1, 2, bad, utf8("x"), utf8("STDIN"), utf8("{}")))
                .getMessage()
                .contains("not valid UTF-8"));
        assertTrue(malformedRequest(rawRequest(1, 2, utf8("CNI_X"), bad, utf8("STDIN"), utf8("{}")))
                .getMessage()
                .contains("not valid UTF-8"));
    }

    @Test
    void unicodeNamesCountInBytes() throws IOException {
        String name = "\u00e9".repeat(128); // 256 UTF-8 bytes: allowed
        Request r = new Request(Map.of(name, "v"), CONF);
        assertEquals(r, roundTrip(r));
        assertThrows(IllegalArgumentException.class, () -> new Request(Map.of(name + "x", "v"), CONF));
    }
}
