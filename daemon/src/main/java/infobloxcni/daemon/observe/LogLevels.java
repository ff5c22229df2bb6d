package infobloxcni.daemon.observe;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.logging.ConsoleHandler;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * {@code --log-level}: the names operators use (error, warn, info, debug, trace) and the JDK's
 * own (SEVERE ... FINEST), in any case; anything else is refused with the one-line message every
 * other setting gets. It used to be {@code Level.parse} alone: {@code debug} died with a stack
 * trace ("Bad level"). And a detail level turns on this project's loggers only: the JDK's own
 * (its HTTP server, networking, JMX) stay at INFO, or debug would bury the daemon's lines in theirs.
 */
public final class LogLevels {
    private static final Map<String, Level> NAMES = Map.ofEntries(
            Map.entry("error", Level.SEVERE),
            Map.entry("warn", Level.WARNING),
            Map.entry("warning", Level.WARNING),
            Map.entry("info", Level.INFO),
            Map.entry("debug", Level.FINE),
            Map.entry("trace", Level.FINEST),
            Map.entry("severe", Level.SEVERE),
            Map.entry("config", Level.CONFIG),
            Map.entry("fine", Level.FINE),
            Map.entry("finer", Level.FINER),
            Map.entry("finest", Level.FINEST));

    /** This project's loggers, which a detail level (debug, trace) turns on. */
    static final String OURS = "infobloxcni";

    // Held here: the JDK keeps loggers weakly, and a collected one forgets the level set on it.
    private static final Logger OUR_LOGGERS = Logger.getLogger(OURS);
    private static final Logger OKHTTP = Logger.getLogger("okhttp3");

    private LogLevels() {}

    /** The level a {@code --log-level} value names. */
    public static Level parse(String name) {
        Level level = name == null ? null : NAMES.get(name.trim().toLowerCase(Locale.ROOT));
        if (level == null)
            throw new IllegalArgumentException("--log-level must be error, warn, info, debug or trace (or a JDK level:"
                    + " SEVERE, WARNING, INFO, CONFIG, FINE, FINER, FINEST), got '" + name + "'");
        return level;
    }

    /** The operator's name of a level (debug for FINE), as {@code --log-level} takes it. */
    public static String name(Level level) {
        for (String n : List.of("error", "warn", "info", "debug", "trace", "config", "finer"))
            if (NAMES.get(n).equals(level)) return n;
        return level.getName().toLowerCase(Locale.ROOT);
    }

    /**
     * One handler on stderr, one line per record ({@link LogLineFormatter}); this project's
     * loggers at {@code level}, everything else at {@code level} but never more detailed than INFO.
     */
    public static void configure(Level level) {
        Logger root = Logger.getLogger("");
        for (var h : root.getHandlers()) root.removeHandler(h);
        ConsoleHandler stderr = new ConsoleHandler();
        stderr.setLevel(level);
        stderr.setFormatter(new LogLineFormatter(
                LogLineFormatter.toJournal(System.getenv("JOURNAL_STREAM"), Path.of("/proc/self/fd/2"))));
        root.addHandler(stderr);
        root.setLevel(level.intValue() < Level.INFO.intValue() ? Level.INFO : level);
        OUR_LOGGERS.setLevel(level);
        OKHTTP.setLevel(Level.WARNING);
    }
}
