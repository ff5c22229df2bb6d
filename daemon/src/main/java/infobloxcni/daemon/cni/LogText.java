package infobloxcni.daemon.cni;

/**
 * Makes text that comes from outside (a client's {@code CNI_*} values and netconf, a grid's error
 * text) safe to put into one log line or one error message: control characters, line and
 * paragraph separators and the invisible formatting characters (bidirectional overrides, zero
 * width joiners) become visible escapes, so a value can neither start a forged log line nor hide
 * or reorder what follows it; and a value quoted back is cut to a readable length, so a client
 * cannot make the daemon write megabytes per request into its log.
 */
public final class LogText {
    /** Longest quoted value, in characters, before it is cut. */
    static final int MAX_VALUE_CHARS = 128;
    /** Longest log message, in characters, before it is cut. */
    static final int MAX_LINE_CHARS = 16 * 1024;

    private LogText() {}

    /** {@code s} with every character that could break or disguise a line written as an escape. */
    static String escape(CharSequence s) {
        if (s == null) return "null";
        int i = 0;
        while (i < s.length() && !needsEscape(s.charAt(i))) i++;
        if (i == s.length()) return s.toString();
        StringBuilder out = new StringBuilder(s.length() + 16).append(s, 0, i);
        for (; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!needsEscape(c)) {
                out.append(c);
                continue;
            }
            switch (c) {
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> out.append("\\u").append(String.format("%04x", (int) c));
            }
        }
        return out.toString();
    }

    /** A client's value, quoted, escaped and cut to {@value #MAX_VALUE_CHARS} characters; "nothing" for null. */
    public static String value(String s) {
        if (s == null) return "nothing";
        return "'" + escape(cut(s, MAX_VALUE_CHARS)) + "'";
    }

    /** A client's value unquoted (an identifier in a log line), escaped and cut like {@link #value}. */
    public static String bare(String s) {
        return s == null ? "-" : escape(cut(s, MAX_VALUE_CHARS));
    }

    /** One log message: escaped and cut to {@value #MAX_LINE_CHARS} characters. */
    public static String line(String s) {
        return escape(cut(s, MAX_LINE_CHARS));
    }

    private static String cut(String s, int max) {
        if (s.length() <= max) return s;
        int end = Character.isHighSurrogate(s.charAt(max - 1)) ? max - 1 : max;
        return s.substring(0, end) + "...(" + s.length() + " characters in all)";
    }

    private static boolean needsEscape(char c) {
        if (c >= 0x20 && c < 0x7f) return false;
        if (Character.isISOControl(c)) return true; // C0, DEL, C1 (NEL among them)
        int type = Character.getType(c);
        return type == Character.LINE_SEPARATOR
                || type == Character.PARAGRAPH_SEPARATOR
                || type == Character.FORMAT; // U+202E and the other bidi controls, zero-width characters
    }
}
