package infobloxcni.plugin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The plugin only talks to a daemon that runs as root (or as the plugin's own user). Someone who
 * can write the socket's directory (an ipam.socket-dir shared with others, say) used to be able to
 * put their own socket there: the plugin sent them the request and printed their answer, which
 * gives the container its addresses, routes and DNS. The impostor here is a second uid the test
 * creates (useradd), running the test's fake daemon.
 */
class ImpostorDaemonTest {
    @TempDir
    Path dir;

    @Test
    void aSocketServedByAnotherUserIsRefused() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root (useradd)");
        assumeTrue(
                new File("/usr/sbin/useradd").canExecute() && new File("/usr/bin/setpriv").canExecute(),
                "needs useradd and setpriv");
        String user = "ibcnp" + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 30), 36);
        assertEquals(
                0,
                new ProcessBuilder(
                                "useradd",
                                "--system",
                                "--no-create-home",
                                "--user-group",
                                "--shell",
                                "/usr/sbin/nologin",
                                user)
                        .inheritIO()
                        .start()
                        .waitFor());
        Process impostor = null;
        try {
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            Path shared = Files.createDirectory(dir.resolve("shared"));
            Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxrwx")); // anyone may bind here
            Path socket = shared.resolve("infoblox.sock");
            String java = ProcessHandle.current().info().command().orElse("java");
            String classPath =
                    Path.of("target/test-classes").toAbsolutePath() + File.pathSeparator + SubprocessTest.CLASS_PATH;
            impostor = new ProcessBuilder(
                            "setpriv",
                            "--reuid=" + user,
                            "--regid=" + user,
                            "--clear-groups",
                            "--",
                            java,
                            "-XX:-UsePerfData",
                            "-cp",
                            classPath,
                            "infobloxcni.plugin.FakeDaemon",
                            socket.toString())
                    .redirectErrorStream(true)
                    .redirectOutput(dir.resolve("impostor.log").toFile())
                    .start();
            for (int i = 0; i < 600 && !Files.exists(socket); i++) Thread.sleep(50);
            assertTrue(Files.exists(socket), Files.readString(dir.resolve("impostor.log")));

            Map<String, String> env = new HashMap<>(Map.of(
                    "CNI_COMMAND",
                    "ADD",
                    "CNI_CONTAINERID",
                    "c1",
                    "CNI_IFNAME",
                    "eth0",
                    "CNI_NETNS",
                    "/var/run/netns/c1"));
            String netconf = "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"ipam\":{\"type\":\"infoblox\",\"socket-dir\":"
                    + MiniJson.quote(shared.toString()) + "}}";
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            int exit = PluginMain.run(new PluginMain.Invocation(
                    CniEnvironment.of(env),
                    new ByteArrayInputStream(netconf.getBytes(StandardCharsets.UTF_8)),
                    out,
                    new PrintStream(new ByteArrayOutputStream()),
                    "infoblox",
                    ForwardingConf.DEFAULT_SOCKET_DIR));
            String printed = out.toString(StandardCharsets.UTF_8);
            assertFalse(printed.contains("10.0.0.2"), "the plugin passed on the impostor's answer: " + printed);
            assertEquals(1, exit, printed);
            Map<?, ?> error = (Map<?, ?>) MiniJson.parse(printed.getBytes(StandardCharsets.UTF_8));
            assertEquals(11L, error.get("code"), printed);
            assertTrue(((String) error.get("msg")).contains("served by user " + user), printed);
        } finally {
            if (impostor != null) {
                impostor.destroyForcibly();
                impostor.waitFor(10, TimeUnit.SECONDS);
            }
            new ProcessBuilder(List.of("userdel", user)).inheritIO().start().waitFor();
        }
    }
}
