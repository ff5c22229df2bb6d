package infobloxcni.daemon.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LogLineFormatterTest {
    @TempDir
    Path dir;

    private static LogRecord record(Level level, String message, Throwable thrown) {
        LogRecord r = new LogRecord(level, message);
        r.setLoggerName("infobloxcni.daemon.ipam.Ipam");
        r.setThrown(thrown);
        return r;
    }

    @Test
    void forATerminalEachLineHasItsUtcTime() {
        String line = new LogLineFormatter().format(record(Level.WARNING, "grid DOWN", null));
        assertTrue(
                line.matches(
                        "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z WARNING infobloxcni.daemon.ipam.Ipam: grid DOWN\n"),
                line);
    }

    @Test
    void forTheJournalEachLineStartsWithItsPriorityAndHasNoTime() {
        LogLineFormatter journal = new LogLineFormatter(true);
        assertEquals(
                "<4>WARNING infobloxcni.daemon.ipam.Ipam: grid DOWN\n",
                journal.format(record(Level.WARNING, "grid DOWN", null)));
        assertEquals("<6>INFO infobloxcni.daemon.ipam.Ipam: ok\n", journal.format(record(Level.INFO, "ok", null)));
        assertEquals(
                "<7>FINE infobloxcni.daemon.ipam.Ipam: detail\n", journal.format(record(Level.FINE, "detail", null)));
        String failed = journal.format(record(Level.SEVERE, "boom", new IllegalStateException("inner")));
        assertTrue(
                failed.lines().allMatch(l -> l.startsWith("<3>")),
                "every line of a stack trace is an error: " + failed);
        assertTrue(
                failed.lines().skip(1).findFirst().orElseThrow().equals("<3>java.lang.IllegalStateException: inner"),
                failed);
    }

    @Test
    void stderrIsTheJournalOnlyWhileJournalStreamNamesIt() throws Exception {
        Path stream = Files.writeString(dir.resolve("stream"), "");
        String itsId = Files.getAttribute(stream, "unix:dev") + ":" + Files.getAttribute(stream, "unix:ino");
        assertTrue(LogLineFormatter.toJournal(itsId, stream));
        assertFalse(LogLineFormatter.toJournal("1:2", stream), "stderr was redirected elsewhere");
        assertFalse(LogLineFormatter.toJournal(null, stream), "not under systemd");
        assertFalse(LogLineFormatter.toJournal("junk", stream));
    }
}
