package infobloxcni.recovery;

import static infobloxcni.daemon.TestHost.netconf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import infobloxcni.daemon.GridAndDaemonTest;
import infobloxcni.daemon.TestHost;
import infobloxcni.store.Attachment;
import infobloxcni.store.AttachmentKey;
import infobloxcni.store.AttachmentState;
import infobloxcni.store.Journal;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The recover command against a simulated grid, with the daemon stopped (it opens the journal)
 * and running (it asks the daemon): every kind of disagreement is reported, repaired by --apply,
 * and the next run is clean. Other hosts' reservations are never touched.
 */
class RecoverMainTest extends GridAndDaemonTest {
    private static final String NET = netconf("1.0.0", "net1", "\"subnet\":\"10.10.0.0/24\"");
    private static final Instant LONG_AGO = Instant.parse("2020-01-01T00:00:00Z");

    record Run(int exit, String out) {}

    private Run recover(String... extra) {
        var config = host.config();
        List<String> args = new ArrayList<>(TestHost.gridFlags(grid, config.socketDir(), config.stateDir(), "host-a"));
        args.addAll(List.of("--cni-cache-dir", dir.resolve("no-cache").toString()));
        args.addAll(List.of(extra));
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        int exit = new CommandLine(new RecoverMain(
                        new PrintStream(buffer, true, StandardCharsets.UTF_8),
                        Map.of("WAPI_PASSWORD", TestHost.PASSWORD)))
                .execute(args.toArray(String[]::new));
        return new Run(exit, buffer.toString(StandardCharsets.UTF_8));
    }

    private String reserve(String containerId, String ip, String hostId) {
        return TestHost.reserveBehindTheDaemonsBack(grid, hostId, containerId, ip);
    }

    /** One of every problem: the state a crash, an outage and a lost journal could leave behind. */
    private Path makeAMess() throws Exception {
        assertTrue(host.call("ADD", "alive", "eth0", NET).ok());
        assertTrue(host.call("ADD", "dead", "eth0", NET).ok());
        assertTrue(host.call("ADD", "vanished", "eth0", NET).ok());
        host.stop();
        reserve("orphan-live", "10.10.0.100", "host-a");
        reserve("orphan-dead", "10.10.0.101", "host-a");
        reserve("other-hosts", "10.10.0.102", "host-b");
        String vanishedRef = grid.objects("fixedaddress").stream()
                .filter(f -> "10.10.0.4".equals(f.get("ipv4addr")))
                .findFirst()
                .orElseThrow()
                .get("_ref")
                .toString();
        grid.deleteObject(vanishedRef);
        String pendingRef = reserve("pending-del", "10.10.0.103", "host-a");
        try (Journal j = Journal.open(host.journalDir())) {
            j.put(Attachment.pending(new AttachmentKey("net1", "pending-del", "eth0"), "default", null, LONG_AGO)
                    .withAllocation("10.10.0.103", 24, null, pendingRef, "10.10.0.0/24")
                    .withState(AttachmentState.DEL_PENDING));
        }
        return Files.writeString(
                dir.resolve("live.txt"),
                "# containerID ifname network\nalive eth0 net1\norphan-live eth0\nvanished eth0 net1\n");
    }

    @Test
    void theRecoverCommandReadsTheDaemonsSettingsFile() throws Exception {
        assertTrue(host.call("ADD", "alive", "eth0", NET).ok());
        var config = host.config();
        // the daemon's own file: its daemon-only settings (log-level) are no error for recover
        Path settings = Files.writeString(
                dir.resolve("daemon.conf"),
                String.join(
                        "\n",
                        "grid-host = 127.0.0.1",
                        "wapi-port = " + config.wapi().port(),
                        "wapi-scheme = http",
                        "wapi-username = " + TestHost.USER,
                        "socket-dir = " + config.socketDir(),
                        "state-dir = " + config.stateDir(),
                        "host-id = host-a",
                        "cni-cache-dir = " + dir.resolve("no-cache"),
                        "log-level = FINE",
                        ""));
        Path live = Files.writeString(dir.resolve("live.txt"), "alive eth0 net1\n");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        RecoverMain main = new RecoverMain(
                new PrintStream(out, true, StandardCharsets.UTF_8), Map.of("WAPI_PASSWORD", TestHost.PASSWORD));
        String[] args = {"--config", settings.toString(), "--live-file", live.toString()};
        CommandLine line = infobloxcni.daemon.config.ConfigFile.commandLine(
                "infoblox-cni-recover", main, main.host, infobloxcni.daemon.DaemonMain.settings(), args, System.err);
        int exit = line.execute(args);
        assertEquals(RecoverMain.CLEAN, exit, out.toString(StandardCharsets.UTF_8));
        assertTrue(
                out.toString(StandardCharsets.UTF_8)
                        .contains("journal: 1 record(s); grid: 1 reservation(s) of this host"),
                "the daemon the file's socket-dir names was asked: " + out.toString(StandardCharsets.UTF_8));

        host.stop(); // offline now: the audit itself asks the grid the file names
        Files.writeString(
                settings,
                Files.readString(settings)
                        .replace("wapi-port = " + config.wapi().port(), "wapi-port = 1"));
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        RecoverMain second = new RecoverMain(
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8),
                Map.of("WAPI_PASSWORD", TestHost.PASSWORD));
        line = infobloxcni.daemon.config.ConfigFile.commandLine(
                "infoblox-cni-recover",
                second,
                second.host,
                infobloxcni.daemon.DaemonMain.settings(),
                args,
                System.err);
        assertEquals(RecoverMain.FAILED, line.execute(args), "the file's grid (port 1) is used: nothing answers there");
    }

    @Test
    void offlineReportThenRepairThenClean() throws Exception {
        Path live = makeAMess();
        Run report = recover("--live-file", live.toString());
        assertEquals(RecoverMain.PROBLEMS_LEFT, report.exit(), report.out());
        for (String expected : List.of(
                "PENDING_INTENT",
                "pending-del",
                "MISSING_ON_GRID",
                "vanished",
                "ORPHAN_ON_GRID",
                "orphan-live",
                "orphan-dead",
                "DEAD_CONTAINER",
                "dead",
                "report only")) {
            assertTrue(report.out().contains(expected), "report names " + expected + ":\n" + report.out());
        }
        assertTrue(
                !report.out().contains("other-hosts"),
                "another host's reservation is not ours to report:\n" + report.out());
        assertEquals(1, reservationsOf("dead").size(), "a report changes nothing");

        Run repair = recover("--live-file", live.toString(), "--apply");
        assertEquals(RecoverMain.REPAIRED, repair.exit(), repair.out());
        assertEquals(0, reservationsOf("dead").size());
        assertEquals(0, reservationsOf("orphan-dead").size());
        assertEquals(0, reservationsOf("pending-del").size());
        assertEquals(1, reservationsOf("orphan-live").size(), "adopted, not released");
        assertEquals(1, reservationsOf("vanished").size(), "a live container's lost reservation is reserved again");
        assertEquals(1, reservationsOf("alive").size());
        assertEquals(1, reservationsOf("other-hosts").size(), "never touches other hosts' reservations");

        Run clean = recover("--live-file", live.toString(), "--json");
        assertEquals(RecoverMain.CLEAN, clean.exit(), clean.out());
        assertTrue(clean.out().contains("\"findings\" : [ ]"), clean.out());

        host.start();
        assertEquals(
                "10.10.0.100/24",
                host.call("ADD", "orphan-live", "eth0", NET).address(),
                "the daemon answers from the repaired journal");
    }

    @Test
    void withTheDaemonRunningTheDaemonDoesTheWork() throws Exception {
        Path live = makeAMess();
        host.start();
        Run repair = recover("--live-file", live.toString(), "--apply");
        assertTrue(repair.exit() == RecoverMain.REPAIRED || repair.exit() == RecoverMain.CLEAN, repair.out());
        assertEquals(0, reservationsOf("dead").size());
        assertEquals(1, reservationsOf("orphan-live").size());
        assertEquals(1, reservationsOf("other-hosts").size());
        Run clean = recover("--live-file", live.toString());
        assertEquals(RecoverMain.CLEAN, clean.exit(), clean.out());
    }

    @Test
    void aLostJournalIsRebuiltFromTheGrid() throws Exception {
        assertTrue(host.call("ADD", "a", "eth0", NET).ok());
        assertTrue(host.call("ADD", "b", "eth0", NET).ok());
        host.stop();
        TestHost.deleteTree(host.journalDir());
        Run report = recover();
        assertEquals(RecoverMain.PROBLEMS_LEFT, report.exit(), report.out());
        assertTrue(report.out().contains("unknown (nothing is called dead)"), report.out());
        Run repair = recover("--apply");
        assertEquals(RecoverMain.REPAIRED, repair.exit(), repair.out());
        assertEquals(1, reservationsOf("a").size(), "without a live list nothing is released");
        assertEquals(RecoverMain.CLEAN, recover().exit());
    }

    @Test
    void aStaleRefAndARecordTheGridCannotTakeAreSettledOneByOneAndTheRestIsRepaired() throws Exception {
        assertTrue(host.call("ADD", "dead", "eth0", NET).ok());
        assertTrue(host.call("ADD", "moved-on", "eth0", NET).ok());
        host.stop();
        // moved-on's reservation was deleted by hand and its address given to another host's container
        var movedOn = reservationsOf("moved-on").getFirst();
        grid.deleteObject(movedOn.get("_ref").toString());
        String taken = reserve("someone-else", movedOn.get("ipv4addr").toString(), "host-b");
        assertEquals(movedOn.get("_ref"), taken, "same address, same view: the journal's ref names the new holder");
        try (Journal j = Journal.open(host.journalDir())) {
            // a record whose view makes a ref no URL can carry, released before it could finish
            j.put(Attachment.pending(new AttachmentKey("net1", "a-poison", "eth0"), "cni_view?x=1", null, LONG_AGO)
                    .withAllocation(
                            "10.10.0.250", 24, null, "fixedaddress/ZG5z:10.10.0.250/cni_view?x=1", "10.10.0.0/24")
                    .withState(AttachmentState.DEL_PENDING));
        }
        Path live = Files.writeString(dir.resolve("live.txt"), "moved-on eth0 net1\n");

        Run report = recover("--live-file", live.toString());
        assertEquals(RecoverMain.PROBLEMS_LEFT, report.exit(), report.out());
        assertTrue(report.out().contains("HELD_BY_ANOTHER"), report.out());

        Run repair = recover("--live-file", live.toString(), "--apply");
        assertTrue(
                repair.exit() == RecoverMain.REPAIRED,
                "one bad record does not stop the repair of the others:\n" + repair.out());
        assertEquals(0, reservationsOf("dead").size(), "the dead container's reservation is released");
        assertEquals(1, reservationsOf("someone-else").size(), "the stale ref's new holder is untouched");
        assertEquals(
                RecoverMain.CLEAN,
                recover("--live-file", live.toString()).exit(),
                "the records that named nothing of ours are gone");
    }

    @Test
    void anUnreachableGridCannotBeAudited() {
        host.stop();
        grid.faults().outage(true);
        Run run = recover();
        assertEquals(RecoverMain.FAILED, run.exit(), run.out());
    }

    @Test
    void aBadLiveFileIsAClearError() throws Exception {
        Path bad = Files.writeString(dir.resolve("bad.txt"), "only-one-field\n");
        assertEquals(RecoverMain.FAILED, recover("--live-file", bad.toString()).exit());
    }

    @Test
    void aPasswordOnTheCommandLineAndPlainHttpAreWarnedAbout() {
        var config = host.config();
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int exit = new CommandLine(new RecoverMain(
                        new PrintStream(out, true, StandardCharsets.UTF_8),
                        new PrintStream(err, true, StandardCharsets.UTF_8),
                        Map.of()))
                .execute(Stream.concat(
                                TestHost.gridFlags(grid, config.socketDir(), config.stateDir(), "host-a").stream(),
                                Stream.of(
                                        "--wapi-password",
                                        TestHost.PASSWORD,
                                        "--cni-cache-dir",
                                        dir.resolve("no-cache").toString()))
                        .toArray(String[]::new));
        String warnings = err.toString(StandardCharsets.UTF_8);
        assertEquals(0, exit, out + warnings);
        assertTrue(warnings.contains("--wapi-password is visible to every user in ps"), warnings);
        assertTrue(warnings.contains("clear text"), warnings);
    }
}
