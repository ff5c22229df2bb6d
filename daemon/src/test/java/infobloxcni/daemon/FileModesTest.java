package infobloxcni.daemon;

import static infobloxcni.daemon.TestHost.netconf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import infobloxcni.daemon.config.DaemonConfig;
import infobloxcni.wapisim.WapiSimulator;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the daemon creates on disk does not depend on its umask, and it keeps its state and socket
 * only in directories no one else may change. Under umask 000 the state and socket directories
 * used to come out 0777 (so any user could plant a journal or their own socket), and a non-root
 * client could connect in the moment between the socket's bind and its chmod.
 */
class FileModesTest {
    private static final String GOOD = netconf("1.0.0", "net1", "\"subnet\":\"10.10.0.0/24\"");

    @TempDir
    Path dir;

    @Test
    void underUmask000NothingTheDaemonMakesIsOpenToOthers() throws Exception {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x")); // the other user may look
        try (WapiSimulator grid = TestHost.startGrid();
                SecondUser other = SecondUser.create()) {
            TestHost host = new TestHost(grid, dir, "host-u");
            Path socket = host.socket();
            // started before the daemon: connects as soon as anything at the socket path lets it
            Process racer = otherUserRacing(other, socket);
            DaemonProcess daemon = DaemonProcess.start(grid, host, dir, "umask 000", List.of());
            try {
                daemon.awaitServing(host);
                assertTrue(host.call("ADD", "c1", "eth0", GOOD).ok(), "the daemon serves and writes its journal");
                Thread.sleep(300);
                racer.destroyForcibly();
                racer.waitFor(10, TimeUnit.SECONDS);
                String raced = Files.readString(dir.resolve("racer.log"));
                assertFalse(
                        raced.contains("CONNECTED"),
                        "a non-root client got a connection to the root-only socket: " + raced);

                assertEquals("rwxr-xr-x", mode(socket.getParent()), "socket dir");
                assertEquals("rw-------", mode(socket), "socket");
                assertEquals("rwx------", mode(host.dir.resolve("state")), "state dir");
                try (Stream<Path> staging = Files.list(socket.getParent())) {
                    assertEquals(List.of(socket), staging.toList(), "only the socket is left in the socket dir");
                }
                // the other user can neither connect nor look into, read or write the state
                var connect = other.java(
                        Duration.ofSeconds(60), SecondUser.treeClassPath(), SocketRacer.class, socket.toString(), "2");
                assertFalse(connect.stdout().contains("CONNECTED"), connect.toString());
                for (Path p : everythingUnder(host.dir.resolve("state"))) {
                    var look = other.run(
                            Duration.ofSeconds(10),
                            Map.of(),
                            null,
                            "sh",
                            "-c",
                            "cat \"$0\" || ls \"$0\" || : > \"$0\"",
                            p.toString());
                    assertTrue(
                            look.stderr().contains("Permission denied") && !look.ok(),
                            p + " is open to another user: " + look);
                }
                // with the store's own modes (journal files 0600, dirs 0700, whatever the umask: store-split branch)
                for (Path p : everythingUnder(host.dir.resolve("state"))) {
                    String expected = Files.isDirectory(p) ? "rwx------" : "rw-------";
                    assertEquals(
                            expected,
                            mode(p),
                            p + " under umask 000 (the store creates journal files 0600 and dirs 0700)");
                }
            } finally {
                racer.destroyForcibly();
                daemon.close();
            }
        }
    }

    @Test
    void stateAndSocketDirsOthersMayChangeAreRefused() throws Exception {
        try (WapiSimulator grid = TestHost.startGrid()) {
            TestHost host = new TestHost(grid, dir, "host-u");
            Path state = Files.createDirectory(dir.resolve("state"));
            Files.setPosixFilePermissions(state, PosixFilePermissions.fromString("rwxrwxrwx"));
            var e = assertThrows(Exception.class, host::start);
            assertTrue(e.getMessage().contains("--state-dir") && e.getMessage().contains("0777"), e.getMessage());

            Files.setPosixFilePermissions(state, PosixFilePermissions.fromString("rwx------"));
            Path run = Files.createDirectory(dir.resolve("run"));
            Files.setPosixFilePermissions(run, PosixFilePermissions.fromString("rwxrwxr-x"));
            e = assertThrows(Exception.class, host::start);
            assertTrue(e.getMessage().contains("--socket-dir") && e.getMessage().contains("group"), e.getMessage());

            Files.setPosixFilePermissions(run, PosixFilePermissions.fromString("rwxr-xr-x"));
            assertTrue(ExternalCommand.run(Duration.ofSeconds(10), "chown", "4242", run.toString())
                    .ok());
            e = assertThrows(Exception.class, host::start);
            assertTrue(e.getMessage().contains("--socket-dir") && e.getMessage().contains("uid 4242"), e.getMessage());
            assertFalse(Files.exists(host.socket()), "nothing was bound");
        }
    }

    /**
     * The way to the state and socket directories must be as safe as the directories: a state dir
     * that was another user's symbolic link (into a root 0700 directory), and directories inside a
     * parent another user owns or inside a world-writable root directory, used to be accepted; in
     * the last, the user renamed {@code run/} away and put their own socket in its place.
     */
    @Test
    void directoriesReachedThroughWhatAnotherUserMayChangeAreRefused() throws Exception {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        try (WapiSimulator grid = TestHost.startGrid();
                SecondUser other = SecondUser.create()) {
            TestHost host = new TestHost(grid, dir, "host-u");
            Path run = dir.resolve("run");
            Path state = dir.resolve("state");
            Path vault = directory(dir.resolve("vault"), "rwx------");

            Path theirLink = Files.createSymbolicLink(dir.resolve("their-link"), vault);
            chown(other, theirLink);
            String refused = refusal(host.configFromFlags(run, theirLink));
            assertTrue(
                    refused.contains("--state-dir")
                            && refused.contains("symbolic link")
                            && refused.contains("uid " + other.uid),
                    refused);

            Path theirs = directory(dir.resolve("theirs"), "rwxr-xr-x");
            chown(other, theirs);
            refused = refusal(host.configFromFlags(theirs.resolve("run"), state));
            assertTrue(refused.contains("--socket-dir") && refused.contains("uid " + other.uid), refused);
            assertFalse(Files.exists(theirs.resolve("run")), "nothing made inside their directory");

            Path open = directory(dir.resolve("open"), "rwxrwxrwx");
            directory(open.resolve("run"), "rwxr-xr-x"); // root's own, but others may rename it away
            refused = refusal(host.configFromFlags(open.resolve("run"), state));
            assertTrue(
                    refused.contains("--socket-dir") && refused.contains("0777") && refused.contains("not sticky"),
                    refused);
            refused = refusal(host.configFromFlags(run, open.resolve("state")));
            assertTrue(refused.contains("--state-dir") && refused.contains("0777"), refused);

            // root's own link, and a sticky parent (as /tmp), are as safe as the directory they lead to
            Path sticky = directory(dir.resolve("sticky"), "rwxrwxrwx");
            Files.setAttribute(sticky, "unix:mode", 01777);
            Path rootsLink = Files.createSymbolicLink(dir.resolve("roots-link"), vault);
            try (Daemon daemon = Daemon.start(host.configFromFlags(sticky.resolve("run"), rootsLink))) {
                assertEquals(sticky.resolve("run").resolve("infoblox.sock"), daemon.socketPath());
                assertTrue(Files.exists(vault.resolve("journal")), "the journal is where the link leads");
            }
        }
    }

    private static String refusal(DaemonConfig config) {
        Exception e = assertThrows(Exception.class, () -> Daemon.start(config).close());
        return e.getMessage();
    }

    private static Path directory(Path p, String mode) throws Exception {
        Files.createDirectory(p);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(mode));
        return p;
    }

    private static void chown(SecondUser user, Path p) {
        var r = ExternalCommand.run(Duration.ofSeconds(10), "chown", "-h", user.uid + ":" + user.gid, p.toString());
        assertTrue(r.ok(), r.toString());
    }

    @Test
    void onlyAStaleSocketIsEverRemovedFromTheSocketPath() throws Exception {
        try (WapiSimulator grid = TestHost.startGrid()) {
            TestHost host = new TestHost(grid, dir, "host-u");
            Files.createDirectories(host.socket().getParent());
            Files.writeString(host.socket(), "an operator's file that happens to have this name");
            var e = assertThrows(Exception.class, host::start);
            assertTrue(e.getMessage().contains("not a stale socket"), e.getMessage());
            assertEquals("an operator's file that happens to have this name", Files.readString(host.socket()));
        }
    }

    @Test
    void stoppingLeavesAnotherDaemonsSocketAlone() throws Exception {
        try (WapiSimulator grid = TestHost.startGrid()) {
            TestHost host = new TestHost(grid, dir, "host-u").start();
            Files.delete(host.socket()); // an operator removed it, and another daemon bound the path
            try (ServerSocketChannel other = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
                other.bind(UnixDomainSocketAddress.of(host.socket()));
                host.stop();
                assertTrue(Files.exists(host.socket()), "the stopping daemon removed a socket that was not its own");
            }
        }
    }

    private static String mode(Path p) throws Exception {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
    }

    private static List<Path> everythingUnder(Path root) throws Exception {
        try (Stream<Path> walk = Files.walk(root)) {
            return walk.toList();
        }
    }

    private Process otherUserRacing(SecondUser other, Path socket) throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        return new ProcessBuilder(
                        "setpriv",
                        "--reuid=" + other.uid,
                        "--regid=" + other.gid,
                        "--clear-groups",
                        "--",
                        java,
                        "-XX:-UsePerfData",
                        "-cp",
                        SecondUser.treeClassPath(),
                        SocketRacer.class.getName(),
                        socket.toString(),
                        "60")
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("racer.log").toFile())
                .start();
    }
}
