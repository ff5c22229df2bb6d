package infobloxcni.plugin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import infobloxcni.plugin.MiniJson.JsonException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class MiniJsonTest {

    private static Object parse(String s) throws JsonException {
        return MiniJson.parse(s.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void netconf() throws JsonException {
        Object doc = parse("""
                {
                  "cniVersion": "1.1.0",
                  "name": "mynet",
                  "type": "bridge",
                  "ipam": {"type": "infoblox", "socket-dir": "/run/cni", "daemon-timeout": 30,
                           "routes": [{"dst": "0.0.0.0/0"}], "network-view": "default"},
                  "prevResult": {"ips": [{"address": "10.0.0.2/24"}], "dns": {}}
                }
                """);
        Map<?, ?> conf = (Map<?, ?>) doc;
        assertEquals("1.1.0", conf.get("cniVersion"));
        Map<?, ?> ipam = (Map<?, ?>) conf.get("ipam");
        assertEquals("infoblox", ipam.get("type"));
        assertEquals(30L, ipam.get("daemon-timeout"));
        assertEquals(List.of(Map.of("dst", "0.0.0.0/0")), ipam.get("routes"));
        assertEquals(List.of("cniVersion", "name", "type", "ipam", "prevResult"), List.copyOf(conf.keySet()));
    }

    @Test
    void scalars() throws JsonException {
        assertEquals(Boolean.TRUE, parse("true"));
        assertEquals(Boolean.FALSE, parse(" false "));
        assertNull(parse("null"));
        assertEquals("", parse("\"\""));
        assertEquals(0L, parse("0"));
        assertEquals(0L, parse("-0"));
        assertEquals(-12L, parse("-12"));
        assertEquals(Long.MAX_VALUE, parse("9223372036854775807"));
        assertEquals(Long.MIN_VALUE, parse("-9223372036854775808"));
        assertEquals(new BigDecimal("9223372036854775808"), parse("9223372036854775808"));
        assertEquals(new BigDecimal("1.5"), parse("1.5"));
        assertEquals(new BigDecimal("-2.5E+3"), parse("-2.5e3"));
        assertEquals(new BigDecimal("1E-2"), parse("1E-2"));
        assertEquals(new BigDecimal("0.0"), parse("0.0"));
        assertEquals(List.of(), parse("[ ]"));
        assertEquals(Map.of(), parse("{ }"));
        assertEquals(Arrays.asList(1L, null, "x", true), parse("[1,null,\"x\",true]"));
    }

    @Test
    void escapes() throws JsonException {
        assertEquals("\"\\/\b\f\n\r\t", parse("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\""));
        assertEquals("\u00e9A\u0000", parse("\"\\u00e9\\u0041\\u0000\""));
        assertEquals("\u00e9", parse("\"\\u00E9\""));
        assertEquals("caf\u00e9 \u20ac", parse("\"caf\u00e9 \u20ac\""));
        // surrogate pairs, escaped and raw
        assertEquals("\uD83D\uDE00", parse("\"\\ud83d\\ude00\""));
        assertEquals("\uD83D\uDE00", parse("\"\uD83D\uDE00\""));
        assertEquals("a\uD83D\uDE00b", parse("\"a\\uD83D\\uDE00b\""));
        assertEquals(Map.of("k\n", "v"), parse("{\"k\\n\":\"v\"}"));
    }

    @Test
    void duplicateKeysLastWins() throws JsonException {
        Map<String, Object> expected = new LinkedHashMap<>();
        expected.put("a", 2L);
        assertEquals(expected, parse("{\"a\":1,\"a\":2}"));
    }

    @Test
    void nestingLimit() throws JsonException {
        String ok = "[".repeat(64) + "]".repeat(64);
        parse(ok);
        JsonException e = assertThrows(JsonException.class, () -> parse("[".repeat(65) + "]".repeat(65)));
        assertTrue(e.getMessage().contains("nesting deeper than 64"), e.getMessage());
        String objects = "{\"a\":".repeat(65) + "1" + "}".repeat(65);
        assertThrows(JsonException.class, () -> parse(objects));
        // very deep input fails cleanly, not with a StackOverflowError
        assertThrows(JsonException.class, () -> parse("[".repeat(1_000_000)));
        assertEquals(List.of(List.of()), MiniJson.parse("[[]]", 2, 100));
        assertThrows(JsonException.class, () -> MiniJson.parse("[[[]]]", 2, 100));
    }

    @Test
    void sizeLimit() {
        assertThrows(JsonException.class, () -> MiniJson.parse("\"" + "x".repeat(100) + "\"", 64, 50));
        byte[] huge = new byte[MiniJson.DEFAULT_MAX_SIZE + 1];
        Arrays.fill(huge, (byte) ' ');
        JsonException e = assertThrows(JsonException.class, () -> MiniJson.parse(huge));
        assertTrue(e.getMessage().contains("limit"), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "",
                " ",
                "{",
                "}",
                "[",
                "[1,]",
                "[,1]",
                "{\"a\":1,}",
                "{,}",
                "{\"a\"}",
                "{\"a\" 1}",
                "{a:1}",
                "{'a':1}",
                "[1 2]",
                "01",
                "-",
                "1.",
                ".5",
                "1e",
                "1e+",
                "+1",
                "0x10",
                "NaN",
                "Infinity",
                "tru",
                "nul",
                "True",
                "\"abc",
                "\"\\x\"",
                "\"\\u12\"",
                "\"\\u12g4\"",
                "\"\\uD83D\"",
                "\"\\uDE00\"",
                "\"\\uD83D\\u0041\"",
                "\"tab\there\"",
                "\"nl\nhere\"",
                "// c\n1",
                "/* c */ 1",
                "1 2",
                "{} x",
                "\uFEFF{}",
                "[1]]",
                "garbage",
                "\"\\u\uFF10\uFF10\uFF10\uFF10\"",
                "1e999999999999"
            })
    void garbageIsRejected(String text) {
        JsonException e = assertThrows(JsonException.class, () -> parse(text));
        assertTrue(e.getMessage().contains("offset") || e.getMessage().contains("UTF-8"), e.getMessage());
    }

    @Test
    void invalidUtf8AndLoneSurrogatesAreRejected() {
        assertThrows(JsonException.class, () -> MiniJson.parse(new byte[] {'"', (byte) 0xc3, '"'}));
        assertThrows(
                JsonException.class,
                () -> MiniJson.parse(
                        new byte[] {'"', (byte) 0xed, (byte) 0xa0, (byte) 0x80, '"'})); // CESU-style encoded surrogate
        assertThrows(JsonException.class, () -> MiniJson.parse("\"\uD83D\""));
        assertThrows(JsonException.class, () -> MiniJson.parse("\"\uDE00x\""));
    }

    @Test
    void quote() throws JsonException {
        assertEquals("\"plain\"", MiniJson.quote("plain"));
        assertEquals("null", MiniJson.quote(null));
        assertEquals(
                "\"a\\\"b\\\\c\\nd\\re\\tf\\bg\\fh\\u0001\\u001f\\u007f\"",
                MiniJson.quote("a\"b\\c\nd\re\tf\bg\fh\u0001\u001f\u007f"));
        assertEquals("\"\u00e9\uD83D\uDE00\"", MiniJson.quote("\u00e9\uD83D\uDE00"));
        assertEquals("\"\\ud83d\"", MiniJson.quote("\uD83D"), "lone surrogates are escaped");
        assertEquals("\"\\u2028\"", MiniJson.quote("\u2028"));
        for (String s : new String[] {"", "x\"\\\u0000\u001f\u2029", "\uD83D\uDE00", "/path/to \u00e9"}) {
            assertEquals(s, MiniJson.parse(MiniJson.quote(s)));
        }
        // a lone surrogate comes out as a valid JSON escape, which a strict reader then refuses
        assertThrows(JsonException.class, () -> MiniJson.parse(MiniJson.quote("x\uDE00")));
    }

    @Test
    void quoteRoundTripsEveryBmpCharacterExceptLoneSurrogates() throws JsonException {
        StringBuilder sb = new StringBuilder();
        for (char c = 0; c < 0xD800; c++) {
            sb.append(c);
        }
        for (int c = 0xE000; c <= 0xFFFF; c++) {
            sb.append((char) c);
        }
        sb.append("\uD83D\uDE00");
        String s = sb.toString();
        assertEquals(s, MiniJson.parse(MiniJson.quote(s).getBytes(StandardCharsets.UTF_8)));
    }
}
