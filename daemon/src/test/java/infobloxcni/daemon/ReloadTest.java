package infobloxcni.daemon;

import static infobloxcni.daemon.TestHost.netconf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import infobloxcni.wapisim.WapiSimulator;
import infobloxcni.wire.CniError;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGHUP reloads: the settings file and the password file read again, what can change live
 * applied and logged, what needs a restart named, a bad file refused with the daemon still
 * serving. SIGHUP used to stop the daemon (the JVM's default).
 */
class ReloadTest {
    private static final String NET = netconf("1.0.0", "reload-net", "\"subnet\":\"10.66.0.0/24\"");

    @TempDir
    Path dir;

    private static void hangUp(DaemonProcess daemon) throws Exception {
        Process kill = new ProcessBuilder("kill", "-HUP", Long.toString(daemon.process.pid()))
                .inheritIO()
                .start();
        assertTrue(kill.waitFor(10, TimeUnit.SECONDS) && kill.exitValue() == 0, "kill -HUP");
    }

    private static String log(DaemonProcess daemon) {
        try {
            return daemon.fullLog();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static long count(String text, String what) {
        return text.lines().filter(l -> l.contains(what)).count();
    }

    @Test
    void aHangUpReadsTheSettingsAndThePasswordAgainAndTheDaemonGoesOn() throws Exception {
        Path password = dir.resolve("wapi-password");
        Files.writeString(password, "not-the-password\n");
        Files.setPosixFilePermissions(password, PosixFilePermissions.fromString("rw-------"));
        Path settings = dir.resolve("daemon.conf");
        Files.writeString(settings, "pool-size = 1\nwapi-password-file = " + password + "\n");
        try (WapiSimulator grid = TestHost.startGrid()) {
            TestHost host = new TestHost(grid, dir, "host-r");
            try (DaemonProcess daemon =
                    DaemonProcess.start(grid, host, dir, "", List.of(), "--config", settings.toString())) {
                daemon.awaitServing(host);
                var refused = host.call("ADD", "c1", "eth0", NET);
                assertEquals(CniError.GRID_AUTH_FAILED, refused.code(), refused.toString());

                // the operator fixes the password, and changes one live setting and one that is not
                Files.writeString(password, TestHost.PASSWORD + "\n");
                Files.writeString(
                        settings,
                        "pool-size = 3\nlog-level = debug\ncluster-name = other-cluster\nwapi-password-file = "
                                + password + "\n");
                hangUp(daemon);
                if (!Eventually.within(Duration.ofSeconds(60), () -> log(daemon).contains("reloaded: ")))
                    throw new AssertionError(
                            "no reload logged within 60 s (alive: " + daemon.process.isAlive() + "):\n" + log(daemon));
                String said = log(daemon)
                        .lines()
                        .filter(l -> l.contains("reloaded: "))
                        .findFirst()
                        .orElseThrow();
                assertTrue(said.contains("applied log-level info -> debug, wapi-password, pool-size 1 -> 3"), said);
                assertTrue(said.contains("changed but in effect only after a restart: cluster-name"), said);
                assertFalse(
                        said.substring(said.indexOf("reloaded: ")).contains(TestHost.PASSWORD),
                        "never the password: " + said);
                assertTrue(daemon.process.isAlive(), "a hang-up is no stop:\n" + log(daemon));
                // status --settings shows what the daemon now runs with
                assertTrue(
                        host.status().path("settings").toString().contains("pool-size                = 3 "),
                        host.status().path("settings").toPrettyString());
                var added = host.call("ADD", "c1", "eth0", NET);
                assertTrue(added.ok(), "the new password is used: " + added);
                Eventually.await(
                        "the pool of the new size",
                        () -> host.status()
                                        .path("pools")
                                        .path("reload-net")
                                        .path("free")
                                        .asInt()
                                == 3);

                // a file the start would refuse: refused, nothing changes, the daemon serves on
                Files.writeString(settings, "pool-size = lots\n");
                hangUp(daemon);
                Eventually.await("the refusal's log line", () -> log(daemon).contains("reload refused"));
                String refusal = log(daemon)
                        .lines()
                        .filter(l -> l.contains("reload refused"))
                        .findFirst()
                        .orElseThrow();
                assertTrue(refusal.contains("pool-size") && refusal.contains(settings.toString()), refusal);
                assertTrue(host.call("ADD", "c2", "eth0", NET).ok(), "the settings in effect stay");
                assertEquals(1, count(log(daemon), "reloaded: "), "refused, so not reloaded again");
            }
        }
    }
}
