package infobloxcni.daemon;

import static infobloxcni.daemon.TestHost.netconf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import infobloxcni.daemon.config.DaemonConfig;
import infobloxcni.daemon.server.SocketLimits;
import infobloxcni.wapisim.WapiSimulator;
import infobloxcni.wire.Envelope;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What clients may hold of the daemon is bounded: connections (all together, per non-root peer),
 * and the time to send a request. Idle and slowloris connections used to be held forever, and a
 * flood of them took the daemon to its descriptor limit, where a failing accept was retried (and
 * logged) in a spin.
 */
class ConnectionLimitsTest {
    private static final String GOOD = netconf("1.0.0", "net1", "\"subnet\":\"10.10.0.0/24\"");
    private static final Duration GENEROUS = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    private TestHost start(WapiSimulator grid, SocketLimits limits, String socketGroup) throws IOException {
        TestHost host = new TestHost(grid, dir, "host-l");
        DaemonConfig c = host.config();
        return host.start(c.toBuilder()
                .socketPermissions(PosixFilePermissions.fromString(socketGroup == null ? "rw-------" : "rw-rw----"))
                .socketGroup(socketGroup)
                .socketLimits(limits)
                .build());
    }

    @Test
    void idleAndSlowConnectionsAreClosedAtTheDeadline() throws Exception {
        try (WapiSimulator grid = TestHost.startGrid();
                TestHost host = start(grid, new SocketLimits(16, 4, Duration.ofSeconds(1), 1 << 20, 8 << 20), null)) {
            List<SocketChannel> idle = new ArrayList<>();
            List<CompletableFuture<Boolean>> closed = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                SocketChannel ch = connect(host);
                idle.add(ch);
                closed.add(closedByDaemon(ch));
            }
            SocketChannel slow = connect(host); // slowloris: a valid envelope, one byte at a time
            byte[] request = new Envelope.Request(
                            java.util.Map.of("CNI_COMMAND", "VERSION"), "{}".getBytes(StandardCharsets.UTF_8))
                    .toBytes();
            closed.add(closedByDaemon(slow));
            Thread trickle = Thread.ofVirtual().start(() -> {
                try {
                    for (byte b : request) {
                        slow.write(ByteBuffer.wrap(new byte[] {b}));
                        Thread.sleep(400);
                    }
                } catch (IOException | InterruptedException stopped) {
                    // closed by the daemon: expected
                }
            });
            try {
                for (CompletableFuture<Boolean> c : closed) {
                    try {
                        assertTrue(c.get(GENEROUS.toSeconds(), TimeUnit.SECONDS), "closed without an answer");
                    } catch (TimeoutException e) {
                        fail("a connection that sent no complete request was still open after " + GENEROUS.toSeconds()
                                + " s");
                    }
                }
                assertTrue(host.call("ADD", "c1", "eth0", GOOD).ok(), "still serving");
            } finally {
                trickle.interrupt();
                for (SocketChannel ch : idle) ch.close();
                slow.close();
            }
        }
    }

    @Test
    void overTheLimitClientsAreToldToTryAgainAtOnce() throws Exception {
        try (WapiSimulator grid = TestHost.startGrid();
                TestHost host = start(grid, new SocketLimits(8, 2, Duration.ofSeconds(60), 1 << 20, 8 << 20), null)) {
            List<SocketChannel> held = new ArrayList<>();
            try {
                for (int i = 0; i < 8; i++) held.add(connect(host));
                Thread.sleep(300); // all accepted
                SocketChannel extra = connect(host);
                held.add(extra);
                CompletableFuture<Envelope.Response> answer = CompletableFuture.supplyAsync(() -> {
                    try {
                        return Envelope.Response.read(Channels.newInputStream(extra));
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
                Envelope.Response busy;
                try {
                    busy = answer.get(GENEROUS.toSeconds(), TimeUnit.SECONDS);
                } catch (TimeoutException e) {
                    fail("the ninth connection over a limit of 8 was neither served nor answered");
                    return;
                }
                String json = new String(busy.stdout(), StandardCharsets.UTF_8);
                assertTrue(json.contains("\"code\":11") && json.contains("--max-connections"), json);
            } finally {
                for (SocketChannel ch : held) ch.close();
            }
            Thread.sleep(300);
            assertTrue(host.call("ADD", "c1", "eth0", GOOD).ok(), "slots come back when connections close");
        }
    }

    @Test
    void aFloodFromOneNonRootPeerLeavesRootsCallsRoom() throws Exception {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        try (WapiSimulator grid = TestHost.startGrid();
                SecondUser peer = SecondUser.create();
                TestHost host =
                        start(grid, new SocketLimits(16, 3, Duration.ofSeconds(60), 1 << 20, 8 << 20), peer.name)) {
            String java = ProcessHandle.current().info().command().orElse("java");
            Process hog = new ProcessBuilder(
                            "setpriv",
                            "--reuid=" + peer.uid,
                            "--regid=" + peer.gid,
                            "--clear-groups",
                            "--",
                            java,
                            "-XX:-UsePerfData",
                            "-cp",
                            SecondUser.treeClassPath(),
                            ConnectionHog.class.getName(),
                            host.socket().toString(),
                            "12")
                    .redirectErrorStream(true)
                    .start();
            try {
                BufferedReader out =
                        new BufferedReader(new InputStreamReader(hog.getInputStream(), StandardCharsets.UTF_8));
                CompletableFuture<String> line = CompletableFuture.supplyAsync(() -> {
                    try {
                        return out.readLine();
                    } catch (IOException e) {
                        return "unreadable: " + e;
                    }
                });
                String counts = line.get(120, TimeUnit.SECONDS);
                assertNotNull(counts);
                assertEquals("held=3 busy=9", counts, "one non-root peer holds at most --max-peer-connections");
                for (int i = 0; i < 4; i++) {
                    assertTrue(
                            host.call("ADD", "c" + i, "eth0", GOOD).ok(),
                            "root's calls go through while the peer holds all it may");
                }
            } finally {
                hog.destroyForcibly();
                hog.waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    /**
     * Every accepted connection used to count against --max-connections before its peer was known:
     * 8 threads of a non-root peer that only connect and close kept the 256 places full of
     * connections not yet looked at, and root's ADDs were turned away with 11.
     */
    @Test
    void aConnectChurnFromANonRootPeerNeverTurnsRootAway() throws Exception {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        try (WapiSimulator grid = TestHost.startGrid();
                SecondUser peer = SecondUser.create();
                TestHost host = start(grid, SocketLimits.defaults(), peer.name)) {
            Process churn = asUser(peer, ConnectionChurn.class, host.socket().toString(), "8", "40");
            try {
                awaitLine(churn, "churning"); // every thread at full speed
                List<String> turnedAway = new ArrayList<>();
                for (int i = 0; i < 40 && churn.isAlive(); i++) {
                    TestHost.Answer add = host.call("ADD", "root-" + i, "eth0", GOOD);
                    if (!add.ok()) turnedAway.add(add.toString());
                }
                assertTrue(churn.isAlive(), "the churn ran for all of root's ADDs");
                assertEquals(
                        List.of(),
                        turnedAway.subList(0, Math.min(3, turnedAway.size())),
                        turnedAway.size() + " of root's 40 ADDs failed during the churn");
            } finally {
                churn.destroyForcibly();
                churn.waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    /**
     * A client turned away at accept gets its "busy, try again" answer: the daemon writes it and
     * closes at once, and the plugin, still writing its request, used to fail with "Broken pipe"
     * (still code 11) instead of reading the answer that was already there.
     */
    @Test
    void thePluginReadsTheBusyAnswerNotABrokenPipe() throws Exception {
        Path binDir = Path.of("").toAbsolutePath().resolveSibling("bin");
        Map<String, String> env = new HashMap<>(TestHost.env("ADD", "c1", "eth0"));
        Path unpackaged = PluginJar.unlessPackaged(binDir, dir);
        if (unpackaged != null) env.put("INFOBLOX_CNI_PLUGIN_JAR", unpackaged.toString());
        String conf = netconf(
                "1.0.0",
                "net1",
                "\"subnet\":\"10.10.0.0/24\",\"socket-dir\":\"" + dir.resolve("run")
                        + "\",\"daemon-connect-timeout\":0");
        try (WapiSimulator grid = TestHost.startGrid();
                TestHost host = start(grid, new SocketLimits(2, 1, Duration.ofSeconds(60), 1 << 20, 8 << 20), null)) {
            List<SocketChannel> held = List.of(connect(host), connect(host)); // root's: every place taken
            try {
                Eventually.await(
                        "both connections are admitted", () -> host.daemon().openConnections() == 2);
                List<String> other = new ArrayList<>();
                for (int i = 0; i < 8; i++) {
                    var r = ExternalCommand.run(
                            GENEROUS, env, conf, binDir.resolve("infoblox").toString());
                    if (!(r.exit() == 1
                            && r.stdout().contains("\"code\":11")
                            && r.stdout().contains("is busy"))) other.add(r.toString());
                }
                assertEquals(
                        List.of(),
                        other.subList(0, Math.min(2, other.size())),
                        other.size() + " of 8 calls over the limit did not print the daemon's busy answer");
            } finally {
                for (SocketChannel ch : held) ch.close();
            }
        }
    }

    /** A Java main of the test class path as {@code user}, its stdout and stderr to read. */
    static Process asUser(SecondUser user, Class<?> main, String... args) throws IOException {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> argv = new ArrayList<>(List.of(
                "setpriv",
                "--reuid=" + user.uid,
                "--regid=" + user.gid,
                "--clear-groups",
                "--",
                java,
                "-XX:-UsePerfData",
                "-cp",
                SecondUser.treeClassPath(),
                main.getName()));
        argv.addAll(List.of(args));
        return new ProcessBuilder(argv).redirectErrorStream(true).start();
    }

    /** Waits (at most 60 s) for {@code process} to print {@code expected} on a line of its own. */
    static void awaitLine(Process process, String expected) throws Exception {
        BufferedReader out =
                new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        CompletableFuture<String> line = CompletableFuture.supplyAsync(() -> {
            try {
                return out.readLine();
            } catch (IOException e) {
                return "unreadable: " + e;
            }
        });
        assertEquals(expected, line.get(60, TimeUnit.SECONDS));
    }

    @Test
    void aFloodOfConnectionsNeitherExhaustsDescriptorsNorFloodsTheLog() throws Exception {
        try (WapiSimulator grid = TestHost.startGrid()) {
            TestHost host = new TestHost(grid, dir, "host-l");
            List<SocketChannel> flood = java.util.Collections.synchronizedList(new ArrayList<>());
            try (DaemonProcess daemon =
                    DaemonProcess.start(grid, host, dir, "ulimit -n 256", List.of(), "--max-connections", "64")) {
                daemon.awaitServing(host);
                try {
                    List<Thread> connecting = new ArrayList<>();
                    for (int i = 0; i < 400; i++) {
                        connecting.add(Thread.ofVirtual().start(() -> {
                            try {
                                SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
                                flood.add(ch);
                                ch.connect(UnixDomainSocketAddress.of(host.socket()));
                            } catch (IOException refusedOrClosed) {
                                // turned away, or closed by the test below
                            }
                        }));
                    }
                    for (Thread t : connecting) t.join(Duration.ofMillis(100));
                    Thread.sleep(3000);
                    assertTrue(daemon.alive(), "the daemon died:\n" + daemon.log());
                    long acceptFailures = daemon.fullLog()
                            .lines()
                            .filter(l -> l.contains("accept failed"))
                            .count();
                    assertTrue(
                            acceptFailures <= 5,
                            acceptFailures + " 'accept failed' lines in 3 s: the daemon ran out of descriptors");
                } finally {
                    synchronized (flood) {
                        for (SocketChannel ch : flood) ch.close();
                    }
                }
                TestHost.Answer add = null;
                for (long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                        System.nanoTime() < end;
                        Thread.sleep(200)) {
                    try {
                        add = host.call("ADD", "c1", "eth0", GOOD);
                        if (add.ok()) break;
                    } catch (RuntimeException notYet) {
                        // still draining the flood
                    }
                }
                assertNotNull(add, "no answer after the flood:\n" + daemon.log());
                assertTrue(add.ok(), add + "\n" + daemon.log());
            }
        }
    }

    private static SocketChannel connect(TestHost host) throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        ch.connect(UnixDomainSocketAddress.of(host.socket()));
        return ch;
    }

    /** Completes with true when the daemon closes the connection (end of stream, or a reset). */
    private static CompletableFuture<Boolean> closedByDaemon(SocketChannel ch) {
        CompletableFuture<Boolean> f = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            try {
                ByteBuffer b = ByteBuffer.allocate(4096);
                while (ch.read(b) >= 0) b.clear();
                f.complete(true);
            } catch (IOException e) {
                f.complete(
                        !(e
                                instanceof
                                java.nio.channels
                                        .AsynchronousCloseException)); // a reset counts; our own close does not
            }
        });
        return f;
    }
}
