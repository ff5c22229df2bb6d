package infobloxcni.daemon;

import static infobloxcni.daemon.TestHost.netconf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import infobloxcni.daemon.server.EnvelopeHandler;
import infobloxcni.wapisim.WapiSimulator;
import infobloxcni.wire.Envelope;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Thousands of hostile connections against a real daemon process, for a bounded time (about a
 * minute): malformed, truncated and oversized envelopes, slow and idle connections, and well-formed
 * envelopes carrying hostile environments and netconfs. Afterwards the daemon must be alive, answer
 * a well-formed ADD, answer a container added before the same as before, and be back to its
 * descriptors and threads; no answer in between may be an internal error (code 199), which would be
 * a case the validation missed. The random source is seeded: a failure names its seed.
 */
class HostileClientsFuzzTest {
    private static final String GOOD = netconf("1.0.0", "net1", "\"subnet\":\"10.10.0.0/24\"");
    private static final Duration FUZZ_TIME = Duration.ofSeconds(45);
    private static final int CLIENTS = 8;

    @TempDir
    Path dir;

    @Test
    void aMinuteOfHostileClientsLeavesTheDaemonAsItWas() throws Exception {
        long seed = Long.getLong("fuzz.seed", System.nanoTime());
        Path fifo = dir.resolve("fifo");
        ExternalCommand.run(Duration.ofSeconds(10), "mkfifo", fifo.toString());
        int metricsPort;
        try (var probe = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            metricsPort = probe.getLocalPort();
        }
        try (WapiSimulator grid = TestHost.startGrid()) {
            TestHost host = new TestHost(grid, dir, "host-f");
            try (DaemonProcess daemon = DaemonProcess.start(
                    grid,
                    host,
                    dir,
                    "",
                    List.of("-Xmx256m", "-XX:+ExitOnOutOfMemoryError"),
                    "--client-io-timeout",
                    "2s",
                    "--max-connections",
                    "64",
                    "--metrics-address",
                    "127.0.0.1:" + metricsPort)) {
                daemon.awaitServing(host);
                TestHost.Answer before = host.call("ADD", "survivor", "eth0", GOOD);
                assertTrue(before.ok(), before.toString());
                for (int i = 0; i < 5; i++)
                    host.call("CHECK", "survivor", "eth0", TestHost.withPrevResult(GOOD, before.stdout())); // warm
                long heapBefore = heapUsedAfterGc(daemon.process.pid());
                int fdsBefore = count("/proc/" + daemon.process.pid() + "/fd");
                int threadsBefore = count("/proc/" + daemon.process.pid() + "/task");

                Map<String, AtomicInteger> kinds = new ConcurrentHashMap<>();
                List<String> internalErrors = Collections.synchronizedList(new ArrayList<>());
                List<String> held = Collections.synchronizedList(new ArrayList<>());
                long end = System.nanoTime() + FUZZ_TIME.toNanos();
                List<Thread> clients = new ArrayList<>();
                for (int c = 0; c < CLIENTS; c++) {
                    Random random = new Random(seed + c);
                    clients.add(Thread.ofVirtual().start(() -> {
                        while (System.nanoTime() < end && daemon.alive()) {
                            String kind = oneHostileConnection(random, host.socket(), fifo, internalErrors, held);
                            kinds.computeIfAbsent(kind, k -> new AtomicInteger())
                                    .incrementAndGet();
                        }
                    }));
                }
                for (Thread t : clients) t.join(FUZZ_TIME.plusSeconds(60));
                int total = kinds.values().stream().mapToInt(AtomicInteger::get).sum();
                String summary = "seed " + seed + ", " + total + " connections: " + kinds;
                System.out.println("fuzz: " + summary);

                assertTrue(daemon.alive(), "the daemon died (" + summary + "):\n" + daemon.log());
                assertEquals(
                        List.of(),
                        internalErrors.subList(0, Math.min(5, internalErrors.size())),
                        internalErrors.size() + " internal errors (" + summary + ")");
                assertEquals(
                        List.of(),
                        held.subList(0, Math.min(5, held.size())),
                        held.size() + " connections neither answered nor closed by the daemon within "
                                + HELD.toSeconds() + " s (" + summary + ")");
                assertTrue(total >= 1000, "too few connections to mean anything: " + summary);
                TestHost.Answer fresh = host.call("ADD", "after-the-storm", "eth0", GOOD);
                assertTrue(fresh.ok(), fresh + " (" + summary + ")\n" + daemon.log());
                assertEquals(
                        before.stdout(),
                        host.call("ADD", "survivor", "eth0", GOOD).stdout(),
                        "the survivor keeps its answer");

                // Metrics: labels from fixed sets whatever CNI_COMMAND said (a histogram per raw
                // value used to grow until the heap ran out), and the heap back near where it was.
                String metrics = scrape(metricsPort);
                java.util.Set<String> verbs = new java.util.TreeSet<>();
                var verb = java.util.regex.Pattern.compile("verb=\"([^\"]*)\"").matcher(metrics);
                while (verb.find()) verbs.add(verb.group(1));
                assertTrue(
                        java.util.Set.of("ADD", "DEL", "CHECK", "GC", "STATUS", "VERSION", "invalid")
                                .containsAll(verbs),
                        "verb labels " + verbs + " (" + summary + ")");
                long series = metrics.lines()
                        .filter(l -> !l.startsWith("#") && !l.isBlank())
                        .count();
                assertTrue(series < 1000, series + " metric series after the fuzz (" + summary + ")");
                long heapAfter = heapUsedAfterGc(daemon.process.pid());
                System.out.println("fuzz: " + series + " metric series, verbs " + verbs + "; heap after GC "
                        + heapBefore / 1024 + " KiB before, " + heapAfter / 1024 + " KiB after");
                assertTrue(
                        heapAfter < heapBefore + (16 << 20),
                        "heap after GC: " + heapBefore + " bytes before, " + heapAfter + " after (" + summary + ")");

                // every connection closed, every thread done: back to where it was (a little slack for pools)
                int fds = -1, threads = -1;
                for (long settle = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                        System.nanoTime() < settle;
                        Thread.sleep(250)) {
                    fds = count("/proc/" + daemon.process.pid() + "/fd");
                    threads = count("/proc/" + daemon.process.pid() + "/task");
                    if (fds <= fdsBefore + 8 && threads <= threadsBefore + 6) break;
                }
                assertTrue(
                        fds <= fdsBefore + 8,
                        "descriptors: " + fdsBefore + " before, " + fds + " after (" + summary + ")");
                assertTrue(
                        threads <= threadsBefore + 6,
                        "threads: " + threadsBefore + " before, " + threads + " after (" + summary + ")");
            }
        }
    }

    /** The daemon's Prometheus exposition. */
    private static String scrape(int port) throws IOException, InterruptedException {
        try (var http = java.net.http.HttpClient.newHttpClient()) {
            var answer = http.send(
                    java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + "/metrics"))
                            .timeout(Duration.ofSeconds(30))
                            .build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertEquals(200, answer.statusCode(), answer.body());
            return answer.body();
        }
    }

    /** The daemon's heap in use right after a full collection, as jcmd reports it (bytes). */
    private static long heapUsedAfterGc(long pid) {
        String jcmd = Path.of(ProcessHandle.current().info().command().orElseThrow())
                .resolveSibling("jcmd")
                .toString();
        ExternalCommand.Result gc = ExternalCommand.run(Duration.ofSeconds(60), jcmd, String.valueOf(pid), "GC.run");
        assertTrue(gc.ok(), gc.toString());
        ExternalCommand.Result info =
                ExternalCommand.run(Duration.ofSeconds(60), jcmd, String.valueOf(pid), "GC.heap_info");
        // one "total ... used ..K" line per generation (Serial: young and tenured; G1: the heap)
        var used = java.util.regex.Pattern.compile("total [^\\n]*?used (\\d+)K").matcher(info.stdout());
        long kib = 0;
        boolean any = false;
        while (used.find()) {
            kib += Long.parseLong(used.group(1));
            any = true;
        }
        assertTrue(any, info.toString());
        return kib * 1024;
    }

    /** However hostile, a connection is answered or closed by the daemon within this (its I/O timeout is 2 s). */
    private static final Duration HELD = Duration.ofSeconds(15);

    private static final java.util.concurrent.ScheduledExecutorService WATCHDOG =
            java.util.concurrent.Executors.newSingleThreadScheduledExecutor(
                    r -> Thread.ofPlatform().daemon(true).name("fuzz-watchdog").unstarted(r));

    /**
     * One connection of a random hostile kind; returns the kind. Answers with code 199 go to
     * {@code internalErrors}; a connection the daemon neither answers nor closes within {@link #HELD}
     * goes to {@code held}. An idle or slow client does not close first: it waits for the daemon.
     */
    private static String oneHostileConnection(
            Random r, Path socket, Path fifo, List<String> internalErrors, List<String> held) {
        int pick = r.nextInt(100);
        String kind = pick < 28
                ? "garbage"
                : pick < 43
                        ? "truncated"
                        : pick < 48
                                ? "oversized"
                                : pick < 51
                                        ? "slow"
                                        : pick < 54
                                                ? "idle"
                                                : pick < 57
                                                        ? "fifo-netns"
                                                        : pick < 80 ? "hostile-env" : "hostile-netconf";
        java.util.concurrent.atomic.AtomicBoolean gaveUp = new java.util.concurrent.atomic.AtomicBoolean();
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            var watchdog = WATCHDOG.schedule(
                    () -> {
                        gaveUp.set(true);
                        try {
                            ch.close();
                        } catch (IOException ignored) {
                            // the blocked read fails either way
                        }
                    },
                    HELD.toMillis(),
                    TimeUnit.MILLISECONDS);
            try {
                talk(r, kind, ch, socket, fifo, internalErrors);
            } finally {
                watchdog.cancel(false);
            }
        } catch (IOException | InterruptedException | RuntimeException e) {
            // turned away, reset, closed at the deadline: all fine for a hostile client
        }
        if (gaveUp.get()) held.add(kind);
        return kind;
    }

    private static void talk(
            Random r, String kind, SocketChannel ch, Path socket, Path fifo, List<String> internalErrors)
            throws IOException, InterruptedException {
        ch.connect(UnixDomainSocketAddress.of(socket));
        OutputStream out = Channels.newOutputStream(ch);
        switch (kind) {
            case "garbage" -> out.write(garbage(r));
            case "truncated" -> {
                byte[] whole = wellFormed(r, fifo).toBytes();
                out.write(whole, 0, r.nextInt(whole.length));
            }
            case "oversized" -> {
                out.write(header(2, "CNI_COMMAND", "ADD"));
                out.write(new byte[] {0, 5, 'S', 'T', 'D', 'I', 'N', 0, (byte) 0x3f, 0, 0}); // 4,128,768 bytes declared
                out.write(new byte[(1 << 20) + r.nextInt(1 << 20)]);
            }
            case "slow" -> {
                byte[] whole = wellFormed(r, fifo).toBytes();
                for (int i = 0; i < Math.min(whole.length, 12); i++) {
                    out.write(whole[i]);
                    Thread.sleep(300);
                }
            }
            case "idle" -> {}
            case "fifo-netns" ->
                new Envelope.Request(
                                Map.of(
                                        "CNI_COMMAND",
                                        "ADD",
                                        "CNI_CONTAINERID",
                                        "fifo-" + r.nextInt(4),
                                        "CNI_IFNAME",
                                        "eth0",
                                        "CNI_NETNS",
                                        fifo.toString()),
                                GOOD.getBytes(StandardCharsets.UTF_8))
                        .write(out);
            default -> wellFormed(r, fifo, kind.equals("hostile-netconf")).write(out);
        }
        if (!kind.equals("idle") && !kind.equals("slow")) ch.shutdownOutput();
        ByteBuffer answer = ByteBuffer.allocate(64 * 1024);
        while (ch.read(answer) > 0 && answer.hasRemaining()) {
            /* until the daemon is done */
        }
        byte[] got = new byte[answer.position()];
        answer.flip().get(got);
        String text = new String(got, StandardCharsets.UTF_8);
        if (text.contains("\"code\":199")) internalErrors.add(kind + ": " + text);
    }

    private static byte[] garbage(Random r) {
        byte[] b = new byte[r.nextInt(r.nextBoolean() ? 16 : 70_000) + 1];
        r.nextBytes(b);
        if (r.nextBoolean())
            System.arraycopy(new byte[] {'I', 'B', 'C', 'N', 'I', (byte) r.nextInt(3)}, 0, b, 0, Math.min(6, b.length));
        return b;
    }

    private static byte[] header(int count, String name, String value) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(new byte[] {'I', 'B', 'C', 'N', 'I', 1, 0, (byte) count});
        byte[] n = name.getBytes(StandardCharsets.UTF_8), v = value.getBytes(StandardCharsets.UTF_8);
        out.write(new byte[] {0, (byte) n.length});
        out.write(n);
        out.write(ByteBuffer.allocate(4).putInt(v.length).array());
        out.write(v);
        return out.toByteArray();
    }

    private static final String[] COMMANDS = {
        "ADD", "DEL", "CHECK", "GC", "STATUS", "VERSION", "add", "", "ADD\n", "\u0000"
    };
    /** A verb nobody defined, 1 to 100 letters: each used to make a metric series of its own. */
    private static String randomWord(Random r) {
        StringBuilder word = new StringBuilder();
        for (int i = r.nextInt(100) + 1; i > 0; i--) word.append((char) ('A' + r.nextInt(26)));
        return word.toString();
    }

    private static final String[] IDS = {
        "c1", "x".repeat(2000), "-dash", "a/b", "ok-", "\u202eevil", "c\nforged", "..", "c 1", "%s%n"
    };
    private static final String[] IFNAMES = {
        "eth0", "", "much-too-long-name", "e/0", "eth%d", "\u001b[2J", "..", "eth0 ", "é"
    };
    private static final String[] ARGS = {
        "",
        "IgnoreUnknown=1",
        "K8S_POD_NAME=p\nq",
        "novalue",
        ";;;;",
        "a=b;".repeat(100),
        "K8S_POD_NAME=" + "p".repeat(300),
        "MAC=zz:zz",
        "MAC=aa:bb:cc:dd:ee:ff"
    };

    private static Envelope.Request wellFormed(Random r, Path fifo) {
        return wellFormed(r, fifo, r.nextBoolean());
    }

    private static Envelope.Request wellFormed(Random r, Path fifo, boolean hostileNetconf) {
        String[] netns = {
            "/var/run/netns/none",
            fifo.toString(),
            "/dev/null",
            "/proc/1/root/etc/passwd",
            "relative",
            "/",
            "/etc/passwd",
            "/proc/self/ns/net",
            "\u0000",
            "/x".repeat(3000)
        };
        Map<String, String> env = new LinkedHashMap<>();
        env.put("CNI_COMMAND", r.nextInt(3) == 0 ? randomWord(r) : COMMANDS[r.nextInt(COMMANDS.length)]);
        if (r.nextInt(4) > 0) env.put("CNI_CONTAINERID", IDS[r.nextInt(IDS.length)]);
        if (r.nextInt(4) > 0) env.put("CNI_IFNAME", IFNAMES[r.nextInt(IFNAMES.length)]);
        if (r.nextInt(4) > 0) env.put("CNI_NETNS", netns[r.nextInt(netns.length)]);
        if (r.nextBoolean()) env.put("CNI_ARGS", ARGS[r.nextInt(ARGS.length)]);
        if (r.nextInt(10) == 0) env.put(EnvelopeHandler.ADMIN_ENV, r.nextBoolean() ? "journal" : "bogus\n");
        String stdin = hostileNetconf ? hostileNetconf(r) : GOOD;
        return new Envelope.Request(env, stdin.getBytes(StandardCharsets.UTF_8));
    }

    private static final String[] FIELD_VALUES = {
        "null",
        "1",
        "-1",
        "1e999",
        "\"\"",
        "\"x\"",
        "[]",
        "{}",
        "true",
        "\"0.0.0.0/0\"",
        "\"10.10.0.0/24\"",
        "\"::1/64\"",
        "\"a\\u0000b\"",
        "\"" + "y".repeat(5000) + "\"",
        "[[[[[[[[[[]]]]]]]]]]",
        "\"10.10.0.1\"",
        "\"0.0.0.1\"",
        "99999999999999999999",
        "{\"dst\":1}",
        "[{\"dst\":\"0.0.0.0/0\"}]",
        "\"\\ud800\""
    };
    private static final String[] FIELDS = {
        "cniVersion",
        "name",
        "type",
        "ipam",
        "ipam.type",
        "ipam.subnet",
        "ipam.gateway",
        "ipam.network-view",
        "ipam.network-container",
        "ipam.prefix-length",
        "ipam.routes",
        "ipam.dns",
        "dns",
        "runtimeConfig",
        "runtimeConfig.mac",
        "prevResult",
        "cni.dev/valid-attachments",
        "ipam.daemon-timeout"
    };

    /** The good netconf with one to three fields replaced by odd values, or something that is barely JSON. */
    private static String hostileNetconf(Random r) {
        if (r.nextInt(10) == 0)
            return Stream.of("", "{", "[1,2]", "{\"a\":" + "[".repeat(200), "{}", "null", "{\"cniVersion\":\"1.1.0\"}")
                    .toList()
                    .get(r.nextInt(7));
        Map<String, Object> root = new LinkedHashMap<>(Map.of("cniVersion", "1.1.0", "name", "net1", "type", "bridge"));
        Map<String, Object> ipam = new LinkedHashMap<>(Map.of("type", "infoblox", "subnet", "10.10.0.0/24"));
        root.put("ipam", ipam);
        StringBuilder json = new StringBuilder("{");
        Map<String, String> replaced = new LinkedHashMap<>();
        for (int i = 0, n = 1 + r.nextInt(3); i < n; i++)
            replaced.put(FIELDS[r.nextInt(FIELDS.length)], FIELD_VALUES[r.nextInt(FIELD_VALUES.length)]);
        appendObject(json, root, "", replaced);
        return json.append("}").toString();
    }

    private static void appendObject(
            StringBuilder json, Map<String, Object> object, String prefix, Map<String, String> replaced) {
        boolean first = true;
        List<String> keys = new ArrayList<>(object.keySet());
        for (String k : replaced.keySet()) {
            String local = prefix.isEmpty() ? k : k.startsWith(prefix + ".") ? k.substring(prefix.length() + 1) : null;
            if (local != null && !local.contains(".") && !keys.contains(local)) keys.add(local);
        }
        for (String key : keys) {
            if (!first) json.append(',');
            first = false;
            String path = prefix.isEmpty() ? key : prefix + "." + key;
            json.append('"').append(key).append("\":");
            if (replaced.containsKey(path)) {
                json.append(replaced.get(path));
            } else if (object.get(key) instanceof Map<?, ?> inner) {
                json.append('{');
                @SuppressWarnings("unchecked")
                Map<String, Object> m = (Map<String, Object>) inner;
                appendObject(json, m, path, replaced);
                json.append('}');
            } else {
                json.append('"').append(object.get(key)).append('"');
            }
        }
    }

    private static int count(String dir) throws IOException {
        try (Stream<Path> s = Files.list(Path.of(dir))) {
            return (int) s.count();
        }
    }
}
