package infobloxcni.daemon;

import static org.junit.jupiter.api.Assertions.assertTrue;

import infobloxcni.wapisim.WapiSimulator;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Under systemd (stderr the journal's stream, JOURNAL_STREAM naming it) every line carries its
 * syslog priority, so {@code journalctl -p warning} finds the warnings, and no time of its own.
 */
class JournalStreamTest {
    @TempDir
    Path dir;

    @Test
    void linesToTheJournalCarryTheirPriorityAndNoTime() throws Exception {
        try (WapiSimulator grid = TestHost.startGrid()) {
            TestHost host = new TestHost(grid, dir, "host-j");
            Path log = Files.writeString(dir.resolve("journal-stream.log"), ""); // stands for the journal's socket
            String stream = Files.getAttribute(log, "unix:dev") + ":" + Files.getAttribute(log, "unix:ino");
            try (DaemonProcess daemon = new DaemonProcess(
                    DaemonProcess.launch(
                                    grid,
                                    host.socket().getParent(),
                                    host.dir.resolve("state"),
                                    host.hostId,
                                    host.dir.resolve("cni-cache"))
                            .jvm("-Djava.io.tmpdir=" + dir)
                            .env("JOURNAL_STREAM", stream)
                            .start(log),
                    log)) {
                daemon.awaitServing(host);
                String text = daemon.fullLog();
                assertTrue(
                        text.lines()
                                .anyMatch(l -> l.startsWith("<6>INFO infobloxcni.daemon.DaemonMain: starting with")),
                        text);
                assertTrue(text.lines().anyMatch(l -> l.startsWith("<4>WARNING ")), text);
                assertTrue(
                        text.lines().filter(l -> l.contains("infobloxcni.")).allMatch(l -> l.matches("<[3467]>.*")),
                        "every line of the daemon's carries a priority: " + text);
                assertTrue(text.lines().noneMatch(l -> l.matches("<\\d>\\d{4}-\\d\\d-\\d\\dT.*")), "no time: " + text);
            }
        }
    }
}
