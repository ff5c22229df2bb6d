package infobloxcni.daemon;

import static infobloxcni.daemon.TestHost.netconf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import infobloxcni.wapisim.WapiSimulator;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The units in systemd/ are valid, and the daemon serves a socket handed over by systemd. */
class SystemdIntegrationTest {
    static final Path REPO = Path.of(System.getProperty("user.dir")).getParent();

    @TempDir
    Path dir;

    @Test
    void unitsPassSystemdAnalyzeVerify() throws Exception {
        assumeTrue(new File("/usr/bin/systemd-analyze").canExecute(), "systemd-analyze not installed");
        for (String unit : List.of("infoblox-cni-daemon.socket", "infoblox-cni-daemon.service")) {
            String text = Files.readString(REPO.resolve("systemd").resolve(unit))
                    .replace("/opt/infoblox-cni", REPO.toString());
            Files.writeString(dir.resolve(unit), text);
        }
        Process verify = new ProcessBuilder(
                        "systemd-analyze",
                        "verify",
                        dir.resolve("infoblox-cni-daemon.socket").toString(),
                        dir.resolve("infoblox-cni-daemon.service").toString())
                .redirectErrorStream(true)
                .start();
        String out = new String(verify.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(verify.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, verify.exitValue(), out);
        assertTrue(out.lines().noneMatch(l -> l.contains("infoblox-cni")), "no complaint about our units:\n" + out);
    }

    /**
     * systemctl stop sends SIGTERM: the daemon closes up and the JVM exits 143, which the unit
     * declares a success. Without it every stop (the one during package removal too) left the
     * unit failed.
     */
    @Test
    void aStopBySigtermIsACleanStopToTheUnit() throws Exception {
        String unit = Files.readString(REPO.resolve("systemd/infoblox-cni-daemon.service"));
        try (WapiSimulator grid = TestHost.startGrid()) {
            TestHost host = new TestHost(grid, dir, "host-t");
            Path settings = dir.resolve("daemon.conf");
            Files.writeString(settings, "pool-size = 3\n");
            try (DaemonProcess daemon =
                    DaemonProcess.start(grid, host, dir, "", List.of(), "--config", settings.toString())) {
                daemon.awaitServing(host);
                // status names the settings file the unit's daemon reads
                assertEquals(
                        settings.toString(), host.status().path("settingsFile").asText(), daemon.log());
                // and the settings it runs with, each with where it came from, as --print-config prints them
                List<String> lines = new ArrayList<>();
                host.status().path("settings").forEach(l -> lines.add(l.asText()));
                assertTrue(
                        lines.stream()
                                .anyMatch(l -> l.startsWith("pool-size ")
                                        && l.contains("= 3 ")
                                        && l.endsWith("# " + settings)),
                        String.join("\n", lines));
                daemon.process.destroy(); // SIGTERM
                assertTrue(daemon.process.waitFor(30, TimeUnit.SECONDS), daemon.log());
                int exit = daemon.process.exitValue();
                assertTrue(
                        unit.lines()
                                        .filter(l -> l.startsWith("SuccessExitStatus="))
                                        .flatMap(l -> java.util.Arrays.stream(
                                                l.substring(l.indexOf('=') + 1).split("\\s+")))
                                        .anyMatch(String.valueOf(exit)::equals)
                                || exit == 0,
                        "the daemon exits " + exit + " on SIGTERM, a status the unit counts as success");
                // "stopped" is written after the daemon closed: the JDK's own hook, running beside ours,
                // used to have removed the log handler by then (ShutdownLogManager).
                assertTrue(daemon.log().contains("stopping"), daemon.log());
                assertTrue(daemon.log().contains("stopped"), daemon.log());
            }
        }
    }

    @Test
    void theServiceIsHardenedToAnExposureSystemdCallsOk() throws Exception {
        assumeTrue(new File("/usr/bin/systemd-analyze").canExecute(), "systemd-analyze not installed");
        Path unit = dir.resolve("infoblox-cni-daemon.service");
        Files.writeString(
                unit,
                Files.readString(REPO.resolve("systemd")
                                .resolve(unit.getFileName().toString()))
                        .replace("/opt/infoblox-cni", REPO.toString()));
        Process security = new ProcessBuilder("systemd-analyze", "security", "--offline=yes", unit.toString())
                .redirectErrorStream(true)
                .start();
        String out = new String(security.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(security.waitFor(60, TimeUnit.SECONDS));
        var m = java.util.regex.Pattern.compile("Overall exposure level for \\S+: (\\d+\\.\\d+) (\\w+)")
                .matcher(out);
        assertTrue(m.find(), out);
        double exposure = Double.parseDouble(m.group(1));
        assertTrue(
                exposure <= 4.9,
                "systemd rates 4.9 or less OK; the unit scores " + exposure + " " + m.group(2) + ":\n" + out);
    }

    /**
     * {@code systemd-socket-activate} listening on the host's socket, as a .socket unit would, with
     * the daemon (logging to daemon.log) as the program it starts on the first connection; returns
     * once the socket exists.
     */
    private Process socketActivator(WapiSimulator grid, Path socket) throws Exception {
        Files.createDirectories(socket.getParent());
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> command = new ArrayList<>(List.of(
                "systemd-socket-activate",
                "-l",
                socket.toString(),
                "-E",
                "WAPI_PASSWORD=" + TestHost.PASSWORD,
                java,
                "--enable-native-access=ALL-UNNAMED", // as bin/infoblox-cni-daemon grants it
                "-Djava.io.tmpdir=" + dir,
                "-cp",
                System.getProperty("java.class.path"),
                DaemonMain.class.getName()));
        command.addAll(TestHost.gridFlags(grid, socket.getParent(), dir.resolve("state"), "host-sa"));
        Process activator = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("daemon.log").toFile())
                .start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!Files.exists(socket) && System.nanoTime() < deadline) Thread.sleep(50);
        return activator;
    }

    @Test
    void theDaemonServesTheSocketSystemdPasses() throws Exception {
        assumeTrue(new File("/usr/bin/systemd-socket-activate").canExecute(), "systemd-socket-activate not installed");
        try (WapiSimulator grid = TestHost.startGrid()) {
            TestHost host = new TestHost(grid, dir, "host-sa");
            Path socket = host.socket();
            Process activator = socketActivator(grid, socket);
            try {
                // systemd-socket-activate starts the daemon on the first connection, as systemd would. Its
                // socket file appears at bind(), a moment before listen(): a busy host may refuse that moment.
                TestHost.Answer add = null;
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (add == null) {
                    try {
                        add = host.call("ADD", "c1", "eth0", netconf("1.0.0", "net1", "\"subnet\":\"10.10.0.0/24\""));
                    } catch (java.io.UncheckedIOException notListening) {
                        if (!(notListening.getCause() instanceof java.net.ConnectException)
                                || System.nanoTime() > until) throw notListening;
                        Thread.sleep(50);
                    }
                }
                String log = Files.readString(dir.resolve("daemon.log"));
                assertTrue(add.ok(), add + "\n" + log);
                assertTrue(log.contains("socket activation"), log);
                assertFalse(log.contains("restricted method"), "junixsocket's native access is granted: " + log);
            } finally {
                activator.descendants().forEach(ProcessHandle::destroy);
                activator.destroy();
                activator.waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void aSocketUnitThatLetsEveryUserInIsRefused() throws Exception {
        assumeTrue(new File("/usr/bin/systemd-socket-activate").canExecute(), "systemd-socket-activate not installed");
        try (WapiSimulator grid = TestHost.startGrid()) {
            TestHost host = new TestHost(grid, dir, "host-sa");
            Path socket = host.socket();
            Process activator = socketActivator(grid, socket);
            try {
                // as a .socket unit with SocketMode=0666 would leave it
                Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-rw-rw-"));
                try {
                    host.call("ADD", "c1", "eth0", netconf("1.0.0", "net1", "\"subnet\":\"10.10.0.0/24\""));
                } catch (RuntimeException closed) {
                    // the daemon refuses to serve: the connection it was started for is closed unanswered
                }
                String log = "";
                // a JVM that starts on a busy host takes its time: bounded at 60 s
                for (int i = 0; i < 1200 && !log.contains("grants every user access"); i++) {
                    Thread.sleep(50);
                    log = Files.readString(dir.resolve("daemon.log"));
                }
                assertTrue(log.contains("grants every user access"), log);
            } finally {
                activator.descendants().forEach(ProcessHandle::destroy);
                activator.destroy();
                activator.waitFor(10, TimeUnit.SECONDS);
            }
        }
    }
}
