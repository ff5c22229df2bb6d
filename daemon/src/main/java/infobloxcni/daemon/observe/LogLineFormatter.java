package infobloxcni.daemon.observe;

import infobloxcni.daemon.cni.LogText;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.logging.Formatter;
import java.util.logging.Level;
import java.util.logging.LogRecord;

/**
 * The daemon's log line: {@code <UTC time> <LEVEL> <logger>: <message>}, one line per record.
 * Every message goes through {@link LogText#line}, whoever logs it, so that nothing a client or
 * the grid sends can start a line of its own; a stack trace keeps its lines, with each
 * exception's text escaped the same way.
 *
 * <p>When stderr is systemd's journal stream ({@link #toJournal}), each line starts with its
 * syslog priority instead ({@code <3>} error, {@code <4>} warning, {@code <6>} info, {@code <7>}
 * debug: sd-daemon(3)'s prefixes), so that {@code journalctl -p warning} finds the warnings, and
 * carries no time, which the journal records itself.
 */
public final class LogLineFormatter extends Formatter {
    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);
    /** Causes shown at most (a cause chain may loop). */
    private static final int MAX_CAUSES = 8;

    private final boolean journal;

    /** Lines for a terminal or a file: each with its UTC time. */
    public LogLineFormatter() {
        this(false);
    }

    /** @param journal lines for systemd's journal: a priority prefix on each, no time */
    public LogLineFormatter(boolean journal) {
        this.journal = journal;
    }

    /**
     * Whether stderr is the journal's stream: systemd sets {@code JOURNAL_STREAM} to its
     * {@code <device>:<inode>}, which holds only while stderr is still that stream (not when
     * the daemon's stderr was redirected, say by a shell the service started).
     */
    public static boolean toJournal(String journalStream, Path stderr) {
        if (journalStream == null || journalStream.isBlank()) return false;
        try {
            long dev = ((Number) Files.getAttribute(stderr, "unix:dev")).longValue();
            long ino = ((Number) Files.getAttribute(stderr, "unix:ino")).longValue();
            return journalStream.strip().equals(dev + ":" + ino);
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException | ClassCastException e) {
            return false;
        }
    }

    /** sd-daemon(3)'s priority of a level. */
    static int priority(Level level) {
        int v = level.intValue();
        if (v >= Level.SEVERE.intValue()) return 3;
        if (v >= Level.WARNING.intValue()) return 4;
        if (v >= Level.INFO.intValue()) return 6;
        return 7;
    }

    @Override
    public String format(LogRecord record) {
        String line = journal ? "<" + priority(record.getLevel()) + ">" : "";
        StringBuilder out = new StringBuilder(160)
                .append(journal ? line : TIME.format(record.getInstant()))
                .append(journal ? "" : " ")
                .append(record.getLevel().getLocalizedName())
                .append(' ')
                .append(record.getLoggerName())
                .append(": ")
                .append(LogText.line(formatMessage(record)));
        Throwable t = record.getThrown();
        // each line of a stack trace is an entry of its own in the journal: each carries the priority
        for (int depth = 0; t != null && depth < MAX_CAUSES; depth++, t = t.getCause()) {
            out.append('\n')
                    .append(line)
                    .append(depth == 0 ? "" : "Caused by: ")
                    .append(LogText.line(t.toString()));
            for (StackTraceElement frame : t.getStackTrace())
                out.append('\n').append(line).append("\tat ").append(frame);
        }
        return out.append('\n').toString();
    }
}
