package infobloxcni.plugin;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import infobloxcni.wire.Envelope;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** PluginMain in-process, against a fake daemon on a Unix-domain socket in a temp dir. */
class PluginMainTest {

    @TempDir
    Path dir;

    /** What one run printed and returned. */
    record Run(int exitCode, String stdout, String stderr) {
        /** The stdout as one JSON object (fails the test if it is anything else). */
        Map<?, ?> json() {
            try {
                return assertInstanceOf(
                        Map.class, MiniJson.parse(stdout.getBytes(StandardCharsets.UTF_8)), "stdout: " + stdout);
            } catch (MiniJson.JsonException e) {
                throw new AssertionError("stdout is not JSON: " + stdout + " (" + e.getMessage() + ")");
            }
        }

        long code() {
            return (Long) json().get("code");
        }

        String msg() {
            return (String) json().get("msg");
        }
    }

    static Map<String, String> env(String command) {
        Map<String, String> env = new HashMap<>();
        if (command != null) {
            env.put("CNI_COMMAND", command);
        }
        env.put("CNI_CONTAINERID", "ctr-1");
        env.put("CNI_NETNS", "/var/run/netns/ctr-1");
        env.put("CNI_IFNAME", "eth0");
        env.put("CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=pod");
        env.put("CNI_PATH", "/opt/cni/bin");
        env.put("PATH", "/usr/bin:/bin");
        env.put("HOME", "/root");
        return env;
    }

    String netconf(String cniVersion, String extraIpam) {
        return "{\"cniVersion\":\"" + cniVersion + "\",\"name\":\"net1\",\"type\":\"bridge\",\"ipam\":{"
                + "\"type\":\"infoblox\",\"socket-dir\":" + MiniJson.quote(dir.toString()) + extraIpam + "}}";
    }

    /** No connect retries: for the tests that want a missing or refused socket answered at once. */
    static final String NO_RETRY = ",\"daemon-connect-timeout\":0";

    static Run run(Map<String, String> env, byte[] stdin, String programName, String defaultSocketDir) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = PluginMain.run(new PluginMain.Invocation(
                CniEnvironment.of(env),
                new ByteArrayInputStream(stdin),
                out,
                new PrintStream(err, true, StandardCharsets.UTF_8),
                programName,
                defaultSocketDir));
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    Run run(Map<String, String> env, String stdin) {
        return run(
                env,
                stdin.getBytes(StandardCharsets.UTF_8),
                "infoblox",
                dir.resolve("default").toString());
    }

    Path socket() {
        return dir.resolve("infoblox.sock");
    }

    // ---- forwarding -------------------------------------------------------------------------------

    @Test
    void addForwardsCniEnvAndExactStdinAndPrintsTheAnswer() throws IOException {
        String conf = netconf("1.0.0", "") + "\n\t ";
        try (FakeDaemon daemon = FakeDaemon.healthy(socket())) {
            Run r = run(env("ADD"), conf);
            assertEquals(0, r.exitCode(), r.toString());
            assertEquals(FakeDaemon.ADD_RESULT, r.stdout());
            assertEquals("", r.stderr());
            assertEquals(1, daemon.requests.size());
            Envelope.Request req = daemon.requests.get(0);
            Map<String, String> expected = env("ADD");
            expected.remove("PATH");
            expected.remove("HOME");
            assertEquals(expected, req.env(), "every CNI_* variable and nothing else");
            assertArrayEquals(conf.getBytes(StandardCharsets.UTF_8), req.stdin());
        }
    }

    @Test
    void everyCommandIsForwardedAndExitCodesPassThrough() throws IOException {
        String error = "{\"cniVersion\":\"0.4.0\",\"code\":7,\"msg\":\"invalid network config: \\\"subnet\\\"\"}";
        try (FakeDaemon daemon = new FakeDaemon(
                socket(), req -> Envelope.Response.of("DEL".equals(req.env().get("CNI_COMMAND")) ? 0 : 7, error))) {
            for (String command : new String[] {"ADD", "DEL", "CHECK", "GC", "STATUS"}) {
                Run r = run(env(command), netconf("0.4.0", ""));
                assertEquals("DEL".equals(command) ? 0 : 7, r.exitCode(), command);
                assertEquals(error, r.stdout(), command);
            }
            assertEquals(5, daemon.requests.size());
        }
    }

    @Test
    void emptyAnswerAndHighExitCodePassThrough() throws IOException {
        try (FakeDaemon daemon = new FakeDaemon(socket(), req -> new Envelope.Response(255, new byte[0]))) {
            Run r = run(env("DEL"), netconf("1.1.0", ""));
            assertEquals(255, r.exitCode());
            assertEquals("", r.stdout());
        }
    }

    @Test
    void undecodableNetconfIsCode6WithoutConnecting() throws IOException {
        // garbage falls back to the default socket: a daemon there must not even be connected to
        Path defaultDir = Files.createDirectory(dir.resolve("default"));
        try (FakeDaemon daemon = FakeDaemon.healthy(defaultDir.resolve("infoblox.sock"))) {
            for (String command : new String[] {"ADD", "DEL", "CHECK", "GC", "STATUS"}) {
                for (String stdin : new String[] {"{not json", "", "{\"cniVersion\":\"1.0.0\"} x", "\u00ff"}) {
                    Run r = run(env(command), stdin);
                    assertEquals(1, r.exitCode(), command + " " + stdin + ": " + r);
                    assertEquals(6, r.code(), command + " " + stdin + ": " + r.stdout());
                    assertEquals("1.1.0", r.json().get("cniVersion"));
                    assertTrue(r.msg().startsWith("network configuration on stdin could not be decoded: "), r.msg());
                    assertTrue(r.msg().contains(parserMessage(stdin)), "names the parser's problem: " + r.msg());
                }
                for (String stdin : new String[] {"[]", "\"x\"", "5", "null"}) {
                    Run r = run(env(command), stdin);
                    assertEquals(6, r.code(), command + " " + stdin + ": " + r.stdout());
                    assertTrue(
                            r.msg().startsWith("network configuration on stdin could not be decoded: ")
                                    && r.msg().contains("not a JSON object"),
                            r.msg());
                }
            }
            assertEquals(0, daemon.connections.get(), "no connection to the daemon");
            assertEquals(0, daemon.requests.size());
        }
    }

    private static String parserMessage(String stdin) {
        try {
            MiniJson.parse(utf8(stdin));
        } catch (MiniJson.JsonException e) {
            return e.getMessage();
        }
        throw new AssertionError("parses: " + stdin);
    }

    @Test
    void socketNameFallsBackToTheProgramName() throws IOException {
        try (FakeDaemon daemon = FakeDaemon.healthy(dir.resolve("ib2.sock"))) {
            String noType =
                    "{\"cniVersion\":\"1.1.0\",\"ipam\":{\"socket-dir\":" + MiniJson.quote(dir.toString()) + "}}";
            Run r = run(env("ADD"), noType.getBytes(StandardCharsets.UTF_8), "ib2", "/nonexistent");
            assertEquals(0, r.exitCode(), r.toString());
            String slashType = "{\"ipam\":{\"type\":\"../x\",\"socket-dir\":" + MiniJson.quote(dir.toString()) + "}}";
            r = run(env("ADD"), slashType.getBytes(StandardCharsets.UTF_8), "ib2", "/nonexistent");
            assertEquals(0, r.exitCode(), r.toString());
            assertEquals(2, daemon.requests.size());
        }
        ForwardingConf none = ForwardingConf.of(new byte[0], null, "/run/cni");
        assertEquals(Path.of("/run/cni/infoblox.sock"), none.socketPath());
    }

    // ---- answered without the daemon ---------------------------------------------------------------

    @Test
    void versionIsAnsweredWithoutTheDaemon() throws IOException {
        try (FakeDaemon daemon = FakeDaemon.healthy(socket())) {
            Run r = run(env("VERSION"), "{\"cniVersion\":\"0.3.1\"}");
            assertEquals(0, r.exitCode());
            assertEquals(
                    "{\"cniVersion\":\"0.3.1\",\"supportedVersions\":[\"0.1.0\",\"0.2.0\",\"0.3.0\",\"0.3.1\","
                            + "\"0.4.0\",\"1.0.0\",\"1.1.0\"]}\n",
                    r.stdout());
            for (String stdin : new String[] {"", "garbage", "[]", "{\"cniVersion\":5}", "{\"cniVersion\":\"\"}"}) {
                r = run(env("VERSION"), stdin);
                assertEquals(0, r.exitCode(), stdin);
                assertEquals("1.1.0", r.json().get("cniVersion"), stdin);
                assertEquals(7, ((List<?>) r.json().get("supportedVersions")).size());
            }
            r = run(env("VERSION"), "{\"cniVersion\":\"1.0.0\\\"x\"}");
            assertEquals("1.0.0\"x", r.json().get("cniVersion"), "escaped, not injected");
            assertEquals(0, daemon.requests.size(), "VERSION never reaches the daemon");
        }
    }

    @Test
    void missingOrUnknownCommandIsCode4() throws IOException {
        try (FakeDaemon daemon = FakeDaemon.healthy(socket())) {
            Run r = run(env(null), netconf("0.4.0", ""));
            assertEquals(1, r.exitCode());
            assertEquals(4, r.code());
            assertTrue(r.msg().contains("CNI_COMMAND"), r.msg());
            assertEquals("0.4.0", r.json().get("cniVersion"));
            Map<String, String> empty = env(null);
            empty.put("CNI_COMMAND", "");
            assertEquals(4, run(empty, netconf("0.4.0", "")).code());
            r = run(env("add"), netconf("1.1.0", ""));
            assertEquals(4, r.code());
            assertTrue(r.msg().contains("CNI_COMMAND") && r.msg().contains("\"add\""), r.msg());
            r = run(env("ADD\"}{"), netconf("1.1.0", ""));
            assertTrue(r.msg().contains(MiniJson.quote("ADD\"}{")), "escaped: " + r.stdout());
            assertEquals(0, daemon.requests.size());
        }
    }

    @Test
    void oversizedStdinIsRejected() throws IOException {
        byte[] big = new byte[ForwardingConf.MAX_STDIN_BYTES + 1];
        java.util.Arrays.fill(big, (byte) ' ');
        try (FakeDaemon daemon = FakeDaemon.healthy(socket())) {
            Run r = run(env("ADD"), big, "infoblox", dir.toString());
            assertEquals(1, r.exitCode());
            assertEquals(6, r.code());
            assertTrue(r.msg().contains("4194304 bytes"), r.msg());
            assertEquals(0, run(env("VERSION"), big, "infoblox", dir.toString()).exitCode());
            assertEquals(0, daemon.requests.size());
        }
    }

    // ---- daemon trouble ---------------------------------------------------------------------------

    @Test
    void missingSocketIsCode11NamingThePath() {
        Run r = run(env("ADD"), netconf("0.4.0", NO_RETRY));
        assertEquals(1, r.exitCode());
        assertEquals(11, r.code());
        assertEquals("0.4.0", r.json().get("cniVersion"));
        assertTrue(r.msg().startsWith("infoblox daemon not reachable at " + socket() + ": "), r.msg());
        assertTrue(r.msg().endsWith("is infoblox-cni-daemon running?"), r.msg());
        assertNotNull(r.json().get("details"));
    }

    @Test
    void statusWithoutDaemonIsCode50() {
        Run r = run(env("STATUS"), netconf("1.1.0", NO_RETRY));
        assertEquals(1, r.exitCode());
        assertEquals(50, r.code());
        assertTrue(r.msg().contains(socket().toString()), r.msg());
    }

    @Test
    void connectionRefusedIsCode11() throws IOException {
        // a socket file nobody listens on any more
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket()));
        server.close();
        assertTrue(Files.exists(socket()));
        Run r = run(env("DEL"), netconf("1.1.0", NO_RETRY));
        assertEquals(11, r.code());
        assertTrue(r.msg().contains("Connection refused") && r.msg().contains(socket().toString()), r.msg());
        // a plain file where the socket should be
        Files.delete(socket());
        Files.writeString(socket(), "not a socket");
        r = run(env("DEL"), netconf("1.1.0", NO_RETRY));
        assertEquals(11, r.code());
        assertTrue(r.msg().contains(socket().toString()), r.msg());
    }

    // ---- the daemon restarting (no socket activation) ------------------------------------------------

    @Test
    void daemonThatComesUpWithinTheConnectTimeoutIsReached() throws Exception {
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            // socket file missing, then a stale one (refused): the two ways a restart looks from outside
            for (boolean stale : new boolean[] {false, true}) {
                if (stale) {
                    ServerSocketChannel old = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
                    old.bind(UnixDomainSocketAddress.of(socket()));
                    old.close();
                    assertTrue(Files.exists(socket()));
                }
                long start = System.nanoTime();
                Future<Run> call = pool.submit(() -> run(env("ADD"), netconf("1.1.0", "")));
                sleep(1_000);
                try (FakeDaemon daemon = FakeDaemon.healthy(socket())) {
                    Run r = call.get(30, TimeUnit.SECONDS);
                    long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                    assertEquals(0, r.exitCode(), "stale " + stale + ": " + r);
                    assertEquals(FakeDaemon.ADD_RESULT, r.stdout());
                    assertTrue(ms >= 950, "waited for the daemon: " + ms + " ms");
                    assertEquals(1, daemon.connections.get());
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void noDaemonIsCode11AfterTheConnectTimeout() throws IOException {
        long start = System.nanoTime();
        Run r = run(env("ADD"), netconf("1.1.0", ",\"daemon-connect-timeout\":1"));
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertEquals(1, r.exitCode());
        assertEquals(11, r.code(), r.stdout());
        assertTrue(r.msg().startsWith("infoblox daemon not reachable at " + socket() + ": "), r.msg());
        assertTrue(r.msg().contains("for 1 s (ipam.daemon-connect-timeout)"), "says how long: " + r.msg());
        assertTrue(ms >= 900 && ms < 5_000, "took " + ms + " ms");

        // refused, as a string, during STATUS
        ServerSocketChannel old = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        old.bind(UnixDomainSocketAddress.of(socket()));
        old.close();
        start = System.nanoTime();
        r = run(env("STATUS"), netconf("1.1.0", ",\"daemon-connect-timeout\":\"1\""));
        ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertEquals(50, r.code(), r.stdout());
        assertTrue(r.msg().contains("Connection refused") && r.msg().contains("for 1 s"), r.msg());
        assertTrue(ms >= 900 && ms < 5_000, "took " + ms + " ms");
    }

    @Test
    void connectTimeoutZeroFailsAtOnce() {
        long start = System.nanoTime();
        Run r = run(env("ADD"), netconf("1.1.0", ",\"daemon-connect-timeout\":0"));
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertEquals(11, r.code(), r.stdout());
        assertTrue(r.msg().endsWith(": No such file or directory; is infoblox-cni-daemon running?"), r.msg());
        assertTrue(ms < 2_000, "no retry (the default would wait 5 s): " + ms + " ms");
    }

    @Test
    void aSocketPathTooLongIsNotRetried() {
        // "missing" for good: waiting would only delay the answer
        String longDir = dir.resolve("d".repeat(120)).toString();
        String conf = "{\"cniVersion\":\"1.1.0\",\"ipam\":{\"type\":\"infoblox\",\"socket-dir\":"
                + MiniJson.quote(longDir) + "}}";
        long start = System.nanoTime();
        Run r = run(env("ADD"), conf);
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertEquals(11, r.code(), r.stdout());
        assertTrue(r.msg().contains("too long") && !r.msg().contains("retrying"), r.msg());
        assertTrue(ms < 2_000, "no retry (the default would wait 5 s): " + ms + " ms");
    }

    @Test
    void timeoutIsCode11NamingPathAndTimeout() throws IOException {
        try (FakeDaemon daemon = new FakeDaemon(socket(), req -> {
            sleep(30_000);
            return null;
        })) {
            long start = System.nanoTime();
            Run r = run(env("ADD"), netconf("1.1.0", ",\"daemon-timeout\":1"));
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertEquals(1, r.exitCode());
            assertEquals(11, r.code(), r.stdout());
            assertTrue(r.msg().contains(socket().toString()) && r.msg().contains("within 1 s"), r.msg());
            assertTrue(ms >= 950 && ms < 10_000, "took " + ms + " ms");
            r = run(env("STATUS"), netconf("1.1.0", ",\"daemon-timeout\":\"1\""));
            assertEquals(50, r.code(), r.stdout());
        }
    }

    @Test
    void daemonHangingUpIsCode11AndGarbageIsCode5() throws IOException {
        try (FakeDaemon daemon = new FakeDaemon(socket(), req -> null)) {
            Run r = run(env("ADD"), netconf("1.1.0", ""));
            assertEquals(11, r.code());
            assertTrue(r.msg().contains("closed the connection without answering"), r.msg());
            assertEquals(1, daemon.connections.get(), "a failure after connecting is not retried");
        }
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket()));
        Thread t = new Thread(() -> {
            for (byte[] answer : new byte[][] {
                "HTTP/1.1 400 Bad Request\r\n\r\n".getBytes(StandardCharsets.UTF_8),
                {'I', 'B', 'C', 'N', 'I', 1, 0, 0, 0, 0, 9, '{'}
            }) {
                try (var ch = server.accept()) {
                    Envelope.Request.read(Channels.newInputStream(ch));
                    Channels.newOutputStream(ch).write(answer);
                } catch (IOException e) {
                    return;
                }
            }
        });
        t.start();
        try {
            Run r = run(env("ADD"), netconf("1.1.0", ""));
            assertEquals(5, r.code());
            assertTrue(r.msg().contains("bad magic"), r.msg());
            r = run(env("ADD"), netconf("1.1.0", ""));
            assertEquals(11, r.code(), "a cut-short answer is transient");
            assertTrue(r.msg().contains("without a complete answer"), r.msg());
        } finally {
            server.close();
        }
    }

    @Test
    void parallelCallsAreIndependent() throws Exception {
        try (FakeDaemon daemon = new FakeDaemon(
                socket(),
                req -> Envelope.Response.of(
                        0, "{\"id\":" + MiniJson.quote(req.env().get("CNI_CONTAINERID")) + "}"))) {
            ExecutorService pool = Executors.newFixedThreadPool(8);
            List<Future<Run>> runs = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                Map<String, String> env = env("ADD");
                env.put("CNI_CONTAINERID", "c" + i);
                runs.add(pool.submit(() -> run(env, netconf("1.1.0", ""))));
            }
            for (int i = 0; i < 40; i++) {
                assertEquals(
                        "{\"id\":\"c" + i + "\"}",
                        runs.get(i).get(30, TimeUnit.SECONDS).stdout());
            }
            pool.shutdown();
        }
    }

    // ---- the netconf fields -----------------------------------------------------------------------

    @Test
    void netconfFieldsAndTimeoutBounds() {
        ForwardingConf n = ForwardingConf.of(
                utf8("{\"cniVersion\":\"0.2.0\",\"ipam\":{\"type\":\"ib\","
                        + "\"socket-dir\":\"/var/run/x/\",\"daemon-timeout\":2.5}}"),
                "infoblox",
                "/run/cni");
        assertEquals("0.2.0", n.cniVersion);
        assertEquals(Path.of("/var/run/x/ib.sock"), n.socketPath());
        assertEquals(2500, n.timeoutMillis);
        assertEquals("2.5 s", n.timeoutText());
        assertEquals(60_000, timeout("null"));
        assertEquals(60_000, timeout("\"soon\""));
        assertEquals(60_000, timeout("[]"));
        assertEquals(1_000, timeout("0"));
        assertEquals(1_000, timeout("-5"));
        assertEquals(600_000, timeout("100000"));
        assertEquals(600_000, timeout("1e300"));
        assertEquals(30_000, timeout("\"30\""));
        assertEquals(5_000, connectTimeout("", "null"));
        assertEquals(5_000, connectTimeout("", "\"soon\""));
        assertEquals(0, connectTimeout("", "0"));
        assertEquals(0, connectTimeout("", "-1"));
        assertEquals(2_500, connectTimeout("", "\" 2.5 \""));
        assertEquals(60_000, connectTimeout("", "1e300"), "at most daemon-timeout");
        assertEquals(10_000, connectTimeout("\"daemon-timeout\":10,", "30"));
        assertEquals(1_000, connectTimeout("\"daemon-timeout\":1,", "null"), "the default, too");
        assertEquals(
                "2.5 s",
                ForwardingConf.of(utf8("{\"ipam\":{\"daemon-connect-timeout\":2.5}}"), "x", "/d")
                        .connectTimeoutText());
        ForwardingConf bad = ForwardingConf.of(utf8("{\"ipam\":{\"type\":5,\"socket-dir\":[]}}"), "ib3", "/run/cni");
        assertEquals(Path.of("/run/cni/ib3.sock"), bad.socketPath());
        assertEquals("1.1.0", bad.cniVersion);
    }

    @Test
    void errorJsonIsValidAndEscaped() throws MiniJson.JsonException {
        String json = ErrorAnswer.json("1.1.0", 11, "a \"quoted\" \\ path\n\u0001", "d\u00e9tails");
        Map<?, ?> m = (Map<?, ?>) MiniJson.parse(json);
        assertEquals("a \"quoted\" \\ path\n\u0001", m.get("msg"));
        assertEquals("d\u00e9tails", m.get("details"));
        assertEquals(11L, m.get("code"));
        assertTrue(json.endsWith("}\n"));
        assertEquals(3, ((Map<?, ?>) MiniJson.parse(ErrorAnswer.json("1.1.0", 4, "m", null))).size());
    }

    private static long timeout(String value) {
        return ForwardingConf.of(utf8("{\"ipam\":{\"daemon-timeout\":" + value + "}}"), "x", "/d").timeoutMillis;
    }

    private static long connectTimeout(String otherFields, String value) {
        return ForwardingConf.of(
                        utf8("{\"ipam\":{" + otherFields + "\"daemon-connect-timeout\":" + value + "}}"), "x", "/d")
                .connectTimeoutMillis;
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
