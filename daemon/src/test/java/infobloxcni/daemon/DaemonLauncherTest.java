package infobloxcni.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.zip.ZipEntry;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bin/infoblox-cni-daemon}: the temp directory junixsocket unpacks (and root then loads) its
 * native library from is the daemon's alone. The launcher runs from a copy of bin/ in a scratch
 * tree whose "java" only prints its arguments, so nothing else of the daemon is needed.
 */
class DaemonLauncherTest {
    static final Path REPO =
            Path.of(System.getProperty("user.dir")).toAbsolutePath().getParent();

    @TempDir
    Path dir;

    private Path launcher;
    private Path tmpParent;

    @BeforeEach
    void scratchTree() throws Exception {
        Path tree = dir.resolve("tree");
        Files.createDirectories(tree.resolve("bin/lib"));
        Files.createDirectories(tree.resolve("daemon/target"));
        Files.copy(REPO.resolve("bin/infoblox-cni-daemon"), tree.resolve("bin/infoblox-cni-daemon"));
        Files.copy(REPO.resolve("bin/infoblox-cni-recover"), tree.resolve("bin/infoblox-cni-recover"));
        Files.copy(REPO.resolve("bin/lib/launch.sh"), tree.resolve("bin/lib/launch.sh"));
        Files.writeString(tree.resolve("daemon/target/daemon.jar"), "");
        Files.createDirectories(tree.resolve("recovery/target"));
        Files.writeString(tree.resolve("recovery/target/recovery.jar"), "");
        Files.setPosixFilePermissions(
                tree.resolve("bin/infoblox-cni-recover"), PosixFilePermissions.fromString("rwxr-xr-x"));
        Path java = tree.resolve("fake-java");
        Files.writeString(java, "#!/bin/sh\nfor a in \"$@\"; do echo \"$a\"; done\n");
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
        launcher = tree.resolve("bin/infoblox-cni-daemon");
        Files.setPosixFilePermissions(launcher, PosixFilePermissions.fromString("rwxr-xr-x"));
        // a shared temp dir like /tmp: world-writable and sticky
        tmpParent = dir.resolve("shared-tmp");
        Files.createDirectory(tmpParent);
        ExternalCommand.run(Duration.ofSeconds(10), "chmod", "1777", tmpParent.toString());
    }

    private ExternalCommand.Result launch() {
        return ExternalCommand.run(
                Duration.ofSeconds(30),
                Map.of(
                        "INFOBLOX_CNI_JAVA",
                        launcher.getParent().getParent().resolve("fake-java").toString(),
                        "TMPDIR",
                        tmpParent.toString(),
                        "INFOBLOX_CNI_TMPDIR",
                        ""),
                null,
                "sh",
                "-c",
                "unset INFOBLOX_CNI_TMPDIR; exec \"$0\"",
                launcher.toString());
    }

    private Path expectedTmp() throws Exception {
        return tmpParent.resolve("infoblox-cni-daemon." + Files.getAttribute(Path.of("/proc/self"), "unix:uid"));
    }

    @Test
    void makesItsOwnPrivateTempDirAndReusesIt() throws Exception {
        var first = launch();
        assertTrue(first.ok(), first.toString());
        assertTrue(first.stdout().lines().anyMatch(("-Djava.io.tmpdir=" + expectedTmp())::equals), first.toString());
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(expectedTmp())));
        var again = launch();
        assertTrue(again.ok(), "a restart reuses its own directory: " + again);
    }

    @Test
    void neitherTheDaemonNorTheRecoverCommandLeavesAPerfDataFile() {
        // hsperfdata_<user>/<pid> in /tmp outlives a kill -9 and holds the command line
        var daemon = launch();
        assertTrue(daemon.stdout().lines().anyMatch("-XX:-UsePerfData"::equals), daemon.toString());
        // junixsocket's native library, loaded at socket activation: granted, no "restricted method" warning
        assertTrue(daemon.stdout().lines().anyMatch("--enable-native-access=ALL-UNNAMED"::equals), daemon.toString());
        var recover = ExternalCommand.run(
                Duration.ofSeconds(30),
                Map.of(
                        "INFOBLOX_CNI_JAVA",
                        launcher.getParent().getParent().resolve("fake-java").toString()),
                null,
                launcher.resolveSibling("infoblox-cni-recover").toString());
        assertTrue(recover.stdout().lines().anyMatch("-XX:-UsePerfData"::equals), recover.toString());
    }

    @Test
    void refusesATempDirAnotherUserCreatedFirst() throws Exception {
        try (SecondUser attacker = SecondUser.create()) {
            Path planted = expectedTmp();
            Files.createDirectory(planted);
            ExternalCommand.run(Duration.ofSeconds(10), "chown", attacker.uid + ":" + attacker.gid, planted.toString());
            ExternalCommand.run(Duration.ofSeconds(10), "chmod", "0777", planted.toString());
            var run = launch();
            assertFalse(run.ok(), "the daemon must not start with a temp dir another user owns: " + run);
            assertTrue(run.stdout().isEmpty(), "java was not even started: " + run);
            assertTrue(run.stderr().contains(planted.toString()), run.stderr());
        }
    }

    @Test
    void refusesASymlinkOrALooseModeInPlaceOfTheTempDir() throws Exception {
        Path elsewhere = Files.createDirectory(dir.resolve("elsewhere"));
        Files.createSymbolicLink(expectedTmp(), elsewhere);
        var linked = launch();
        assertFalse(linked.ok(), linked.toString());
        assertTrue(linked.stderr().contains("symbolic link"), linked.stderr());

        Files.delete(expectedTmp());
        Files.createDirectory(
                expectedTmp(), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        ExternalCommand.run(
                Duration.ofSeconds(10), "chmod", "0777", expectedTmp().toString());
        var loose = launch();
        assertFalse(loose.ok(), "our own name, but anyone may write it: " + loose);
        assertTrue(loose.stderr().contains("777"), loose.stderr());
    }

    @Test
    void refusesAParentOthersMayRenameItIn() throws Exception {
        ExternalCommand.run(Duration.ofSeconds(10), "chmod", "0777", tmpParent.toString()); // writable, not sticky
        var run = launch();
        assertFalse(run.ok(), run.toString());
        assertTrue(run.stderr().contains("not sticky"), run.stderr());
    }

    /**
     * A JVM crash report holds the whole command line (a --wapi-password, when one was used) and
     * used to be written 0644 into the working directory (/ under systemd). Here the real JVM runs
     * a jar that only waits, started by the launcher as the daemon would be, and is made to crash.
     */
    @Test
    void aCrashReportGoesToThePrivateTempDirReadableByRootOnly() throws Exception {
        Path tree = launcher.getParent().getParent();
        Path classes = Files.createDirectories(dir.resolve("classes"));
        Path source = classes.resolve("Waits.java");
        Files.writeString(
                source,
                "public class Waits { public static void main(String[] a) throws Exception {"
                        + " System.out.println(\"started\"); Thread.currentThread().join(); } }"); // until it is
        // crashed
        assertEquals(0, ToolProvider.getSystemJavaCompiler().run(null, null, null, source.toString()));
        Manifest manifest = new Manifest();
        manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        manifest.getMainAttributes().put(Attributes.Name.MAIN_CLASS, "Waits");
        try (OutputStream out = Files.newOutputStream(tree.resolve("daemon/target/daemon.jar"));
                JarOutputStream jar = new JarOutputStream(out, manifest)) {
            jar.putNextEntry(new ZipEntry("Waits.class"));
            jar.write(Files.readAllBytes(classes.resolve("Waits.class")));
        }
        Path cwd = Files.createDirectories(dir.resolve("cwd"));
        Files.setPosixFilePermissions(cwd, PosixFilePermissions.fromString("rwxrwxrwx"));
        ProcessBuilder pb = new ProcessBuilder(List.of(launcher.toString()))
                .directory(cwd.toFile())
                .redirectErrorStream(true);
        pb.environment()
                .put(
                        "INFOBLOX_CNI_JAVA",
                        ProcessHandle.current().info().command().orElseThrow());
        pb.environment().put("TMPDIR", tmpParent.toString());
        pb.environment().remove("INFOBLOX_CNI_TMPDIR");
        pb.environment().remove("INFOBLOX_CNI_DAEMON_JAVA_OPTS");
        Process jvm = pb.start();
        try {
            var out = new java.io.BufferedReader(new java.io.InputStreamReader(jvm.getInputStream()));
            assertEquals("started", out.readLine(), "the launcher started the JVM");
            ExternalCommand.run(Duration.ofSeconds(10), "kill", "-SEGV", String.valueOf(jvm.pid()));
            assertTrue(jvm.waitFor(60, TimeUnit.SECONDS), "the JVM ended after its crash");
            out.transferTo(java.io.Writer.nullWriter());
        } finally {
            jvm.destroyForcibly();
        }
        Path report = expectedTmp().resolve("hs_err_pid" + jvm.pid() + ".log");
        assertTrue(Files.exists(report), "crash report in the private temp dir " + expectedTmp());
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(report)));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(expectedTmp())));
        try (var inCwd = Files.list(cwd)) {
            assertEquals(List.of(), inCwd.toList(), "nothing in the working directory");
        }
    }
}
