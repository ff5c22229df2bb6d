package infobloxcni.daemon.observe;

import infobloxcni.daemon.cni.LogText;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.logging.Formatter;
import java.util.logging.LogRecord;

/**
 * The daemon's log line: {@code <UTC time> <LEVEL> <logger>: <message>}, one line per record.
 * Every message goes through {@link LogText#line}, whoever logs it, so that nothing a client or
 * the grid sends can start a line of its own; a stack trace keeps its lines, with each
 * exception's text escaped the same way.
 */
public final class LogLineFormatter extends Formatter {
    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);
    /** Causes shown at most (a cause chain may loop). */
    private static final int MAX_CAUSES = 8;

    @Override
    public String format(LogRecord record) {
        StringBuilder out = new StringBuilder(160)
                .append(TIME.format(record.getInstant()))
                .append(' ')
                .append(record.getLevel().getLocalizedName())
                .append(' ')
                .append(record.getLoggerName())
                .append(": ")
                .append(LogText.line(formatMessage(record)));
        Throwable t = record.getThrown();
        for (int depth = 0; t != null && depth < MAX_CAUSES; depth++, t = t.getCause()) {
            out.append(depth == 0 ? "\n" : "\nCaused by: ").append(LogText.line(t.toString()));
            for (StackTraceElement frame : t.getStackTrace())
                out.append("\n\tat ").append(frame);
        }
        return out.append('\n').toString();
    }
}
