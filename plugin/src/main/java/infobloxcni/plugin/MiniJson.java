package infobloxcni.plugin;

import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small strict JSON (RFC 8259) reader and string quoter, so that the plugin executable needs no
 * JSON library (every class loaded costs start-up time on each CNI call).
 *
 * <p>Values map to {@link Map} (a {@link LinkedHashMap}; on a duplicate key the last one wins, as in
 * Go's encoding/json and Jackson), {@link List}, {@link String}, {@link Long} (integers that fit),
 * {@link BigDecimal} (every other number), {@link Boolean} and {@code null}. Rejected: comments,
 * trailing commas, single quotes, leading zeros, a byte-order mark, control characters inside
 * strings, unknown escapes, unpaired surrogates, anything after the value, input that is not valid
 * UTF-8, nesting deeper than the depth limit and input longer than the size limit.
 */
public final class MiniJson {

    /** Default maximum nesting of arrays and objects. */
    public static final int DEFAULT_MAX_DEPTH = 64;
    /** Default maximum input size, in bytes (for {@link #parse(byte[])}) or chars. */
    public static final int DEFAULT_MAX_SIZE = 4 * 1024 * 1024;

    /** The input is not JSON, or exceeds a limit. */
    public static final class JsonException extends Exception {
        private static final long serialVersionUID = 1L;

        public JsonException(String message) {
            super(message);
        }
    }

    private final String s;
    private final int maxDepth;
    private int pos;

    private MiniJson(String s, int maxDepth) {
        this.s = s;
        this.maxDepth = maxDepth;
    }

    /** Parses UTF-8 bytes with the default limits. */
    public static Object parse(byte[] utf8) throws JsonException {
        if (utf8.length > DEFAULT_MAX_SIZE) {
            throw new JsonException(
                    "document is " + utf8.length + " bytes, more than the limit of " + DEFAULT_MAX_SIZE);
        }
        String text;
        try {
            text = StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(utf8))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new JsonException("document is not valid UTF-8");
        }
        return parse(text, DEFAULT_MAX_DEPTH, DEFAULT_MAX_SIZE);
    }

    /** Parses a string with the default limits. */
    public static Object parse(String text) throws JsonException {
        return parse(text, DEFAULT_MAX_DEPTH, DEFAULT_MAX_SIZE);
    }

    /** Parses a string with the given nesting and size (in chars) limits. */
    public static Object parse(String text, int maxDepth, int maxChars) throws JsonException {
        if (text.length() > maxChars) {
            throw new JsonException("document is " + text.length() + " characters, more than the limit of " + maxChars);
        }
        MiniJson p = new MiniJson(text, maxDepth);
        p.skipWhitespace();
        Object v = p.value(0);
        p.skipWhitespace();
        if (p.pos != text.length()) {
            throw p.error("unexpected " + p.describe() + " after the JSON value");
        }
        return v;
    }

    // ---- parser -------------------------------------------------------------------------------

    private Object value(int depth) throws JsonException {
        if (pos >= s.length()) {
            throw error("unexpected end of input, expected a value");
        }
        char c = s.charAt(pos);
        switch (c) {
            case '{':
                return object(depth + 1);
            case '[':
                return array(depth + 1);
            case '"':
                return string();
            case 't':
                literal("true");
                return Boolean.TRUE;
            case 'f':
                literal("false");
                return Boolean.FALSE;
            case 'n':
                literal("null");
                return null;
            default:
                if (c == '-' || (c >= '0' && c <= '9')) {
                    return number();
                }
                throw error("unexpected " + describe() + ", expected a value");
        }
    }

    private Map<String, Object> object(int depth) throws JsonException {
        checkDepth(depth);
        pos++; // '{'
        Map<String, Object> map = new LinkedHashMap<>();
        skipWhitespace();
        if (peek() == '}') {
            pos++;
            return map;
        }
        while (true) {
            skipWhitespace();
            if (peek() != '"') {
                throw error("unexpected " + describe() + ", expected an object key string");
            }
            String key = string();
            skipWhitespace();
            expect(':');
            skipWhitespace();
            map.put(key, value(depth));
            skipWhitespace();
            char c = peek();
            if (c == ',') {
                pos++;
            } else if (c == '}') {
                pos++;
                return map;
            } else {
                throw error("unexpected " + describe() + ", expected ',' or '}'");
            }
        }
    }

    private List<Object> array(int depth) throws JsonException {
        checkDepth(depth);
        pos++; // '['
        List<Object> list = new ArrayList<>();
        skipWhitespace();
        if (peek() == ']') {
            pos++;
            return list;
        }
        while (true) {
            skipWhitespace();
            list.add(value(depth));
            skipWhitespace();
            char c = peek();
            if (c == ',') {
                pos++;
            } else if (c == ']') {
                pos++;
                return list;
            } else {
                throw error("unexpected " + describe() + ", expected ',' or ']'");
            }
        }
    }

    private String string() throws JsonException {
        int start = ++pos; // after '"'
        StringBuilder sb = null;
        while (true) {
            if (pos >= s.length()) {
                throw error("unterminated string");
            }
            char c = s.charAt(pos);
            if (c == '"') {
                String out = sb == null ? s.substring(start, pos) : sb.toString();
                pos++;
                return out;
            }
            if (c < 0x20) {
                throw error("control character U+" + hex4(c) + " inside a string (must be escaped)");
            }
            if (Character.isSurrogate(c)) {
                // Only reachable from parse(String): decoded UTF-8 never holds unpaired surrogates.
                if (Character.isHighSurrogate(c)
                        && pos + 1 < s.length()
                        && Character.isLowSurrogate(s.charAt(pos + 1))) {
                    if (sb != null) {
                        sb.append(c).append(s.charAt(pos + 1));
                    }
                    pos += 2;
                    continue;
                }
                throw error("unpaired surrogate U+" + hex4(c) + " inside a string");
            }
            if (c != '\\') {
                if (sb != null) {
                    sb.append(c);
                }
                pos++;
                continue;
            }
            if (sb == null) {
                sb = new StringBuilder(s.length() - start < 64 ? 64 : 256);
                sb.append(s, start, pos);
            }
            pos++; // '\\'
            if (pos >= s.length()) {
                throw error("unterminated escape sequence");
            }
            char e = s.charAt(pos++);
            switch (e) {
                case '"' -> sb.append('"');
                case '\\' -> sb.append('\\');
                case '/' -> sb.append('/');
                case 'b' -> sb.append('\b');
                case 'f' -> sb.append('\f');
                case 'n' -> sb.append('\n');
                case 'r' -> sb.append('\r');
                case 't' -> sb.append('\t');
                case 'u' -> {
                    char u = hexEscape();
                    if (Character.isHighSurrogate(u)) {
                        if (pos + 1 < s.length() && s.charAt(pos) == '\\' && s.charAt(pos + 1) == 'u') {
                            pos += 2;
                            char low = hexEscape();
                            if (!Character.isLowSurrogate(low)) {
                                throw error("high surrogate \\u" + hex4(u) + " followed by \\u" + hex4(low)
                                        + ", not by a low surrogate");
                            }
                            sb.append(u).append(low);
                        } else {
                            throw error("unpaired high surrogate \\u" + hex4(u));
                        }
                    } else if (Character.isLowSurrogate(u)) {
                        throw error("unpaired low surrogate \\u" + hex4(u));
                    } else {
                        sb.append(u);
                    }
                }
                default -> {
                    pos--;
                    throw error("invalid escape '\\" + printable(e) + "'");
                }
            }
        }
    }

    private char hexEscape() throws JsonException {
        if (pos + 4 > s.length()) {
            throw error("truncated \\u escape");
        }
        int v = 0;
        for (int i = 0; i < 4; i++) {
            int d = Character.digit(s.charAt(pos + i), 16);
            if (d < 0 || s.charAt(pos + i) > 'f') {
                throw error("invalid hex digit in \\u escape");
            }
            v = (v << 4) | d;
        }
        pos += 4;
        return (char) v;
    }

    private Object number() throws JsonException {
        int start = pos;
        boolean integral = true;
        if (peek() == '-') {
            pos++;
        }
        char c = peek();
        if (c == '0') {
            pos++;
            if (isDigit(peek())) {
                throw error("leading zero in a number");
            }
        } else if (c >= '1' && c <= '9') {
            while (isDigit(peek())) {
                pos++;
            }
        } else {
            throw error("expected a digit");
        }
        if (peek() == '.') {
            integral = false;
            pos++;
            if (!isDigit(peek())) {
                throw error("expected a digit after the decimal point");
            }
            while (isDigit(peek())) {
                pos++;
            }
        }
        c = peek();
        if (c == 'e' || c == 'E') {
            integral = false;
            pos++;
            c = peek();
            if (c == '+' || c == '-') {
                pos++;
            }
            if (!isDigit(peek())) {
                throw error("expected a digit in the exponent");
            }
            while (isDigit(peek())) {
                pos++;
            }
        }
        String text = s.substring(start, pos);
        if (integral && text.length() <= 18) {
            return Long.parseLong(text);
        }
        try {
            BigDecimal d = new BigDecimal(text);
            if (integral) {
                try {
                    return d.longValueExact();
                } catch (ArithmeticException tooBig) {
                    return d;
                }
            }
            return d;
        } catch (NumberFormatException e) {
            throw error("number out of range: " + text);
        }
    }

    private void literal(String word) throws JsonException {
        if (!s.startsWith(word, pos)) {
            throw error("unexpected " + describe() + ", expected a value");
        }
        pos += word.length();
    }

    private void checkDepth(int depth) throws JsonException {
        if (depth > maxDepth) {
            throw error("nesting deeper than " + maxDepth);
        }
    }

    private void expect(char c) throws JsonException {
        if (peek() != c) {
            throw error("unexpected " + describe() + ", expected '" + c + "'");
        }
        pos++;
    }

    private char peek() {
        return pos < s.length() ? s.charAt(pos) : '\0';
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    private void skipWhitespace() {
        while (pos < s.length()) {
            char c = s.charAt(pos);
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
                pos++;
            } else {
                return;
            }
        }
    }

    private String describe() {
        if (pos >= s.length()) {
            return "end of input";
        }
        return "character '" + printable(s.charAt(pos)) + "'";
    }

    private JsonException error(String message) {
        return new JsonException(message + " at offset " + pos);
    }

    private static String printable(char c) {
        return c < 0x20 || c == 0x7f || Character.isSurrogate(c) || c == 0xfeff ? "U+" + hex4(c) : String.valueOf(c);
    }

    private static String hex4(int c) {
        String h = Integer.toHexString(c).toUpperCase(java.util.Locale.ROOT);
        return "0000".substring(h.length()) + h;
    }

    // ---- writer -------------------------------------------------------------------------------

    /** {@code s} as a JSON string literal, quotes included; {@code null} becomes {@code null}. */
    public static String quote(String s) {
        if (s == null) {
            return "null";
        }
        StringBuilder sb = new StringBuilder(s.length() + 16);
        sb.append('"');
        for (int i = 0, n = s.length(); i < n; i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    boolean pairedSurrogate =
                            Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1));
                    if (pairedSurrogate) {
                        sb.append(c).append(s.charAt(++i));
                    } else if (c < 0x20 || c == 0x7f || c == 0x2028 || c == 0x2029 || Character.isSurrogate(c)) {
                        // unpaired surrogates are escaped so that the UTF-8 output stays valid
                        sb.append("\\u").append(hex4(c).toLowerCase(java.util.Locale.ROOT));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.append('"').toString();
    }
}
