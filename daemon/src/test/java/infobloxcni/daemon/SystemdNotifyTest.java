package infobloxcni.daemon;

import static org.junit.jupiter.api.Assertions.assertTrue;

import infobloxcni.wapisim.WapiSimulator;
import java.net.DatagramPacket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.newsclub.net.unix.AFUNIXDatagramSocket;
import org.newsclub.net.unix.AFUNIXSocketAddress;

/** The daemon under a test-made NOTIFY_SOCKET, as systemd runs a Type=notify service: READY, STATUS, watchdog pings, STOPPING. */
class SystemdNotifyTest {
    @TempDir
    Path dir;

    @Test
    void theDaemonSaysReadyOnceItServesPingsTheWatchdogAndSaysStopping() throws Exception {
        Path notify = dir.resolve("notify.sock");
        try (WapiSimulator grid = TestHost.startGrid();
                AFUNIXDatagramSocket systemd = AFUNIXDatagramSocket.newInstance()) {
            systemd.bind(AFUNIXSocketAddress.of(notify));
            systemd.setSoTimeout(20_000);
            String java = ProcessHandle.current().info().command().orElse("java");
            List<String> argv = new ArrayList<>(List.of(
                    java,
                    "-Djava.io.tmpdir=" + dir,
                    "-cp",
                    System.getProperty("java.class.path"),
                    DaemonMain.class.getName()));
            argv.addAll(TestHost.gridFlags(grid, dir.resolve("run"), dir.resolve("state"), "notify-host"));
            ProcessBuilder pb = new ProcessBuilder(argv)
                    .redirectErrorStream(true)
                    .redirectOutput(dir.resolve("daemon.log").toFile());
            pb.environment().put("WAPI_PASSWORD", TestHost.PASSWORD);
            pb.environment().put("NOTIFY_SOCKET", notify.toString());
            pb.environment().put("WATCHDOG_USEC", "1000000");
            Process daemon = pb.start();
            List<String> seen = new ArrayList<>();
            try {
                String ready = receive(systemd);
                seen.add(ready);
                assertTrue(ready.startsWith("READY=1\n"), "first: READY=1: " + ready);
                assertTrue(ready.contains("STATUS=grid "), ready);
                assertTrue(
                        Files.exists(dir.resolve("run").resolve("infoblox.sock")), "READY only once the socket serves");
                int pings = 0;
                while (pings < 2) {
                    String m = receive(systemd);
                    seen.add(m);
                    if (m.equals("WATCHDOG=1")) pings++;
                }
                daemon.destroy(); // SIGTERM, as systemctl stop
                String m;
                do {
                    m = receive(systemd);
                    seen.add(m);
                } while (!m.equals("STOPPING=1"));
                assertTrue(daemon.waitFor(20, TimeUnit.SECONDS));
            } catch (SocketTimeoutException e) {
                throw new AssertionError(
                        "no more notifications; got " + seen + "\n" + Files.readString(dir.resolve("daemon.log")), e);
            } finally {
                daemon.destroyForcibly();
            }
        }
    }

    private static String receive(AFUNIXDatagramSocket socket) throws Exception {
        DatagramPacket packet = new DatagramPacket(new byte[4096], 4096);
        socket.receive(packet);
        return new String(packet.getData(), 0, packet.getLength(), StandardCharsets.UTF_8);
    }
}
