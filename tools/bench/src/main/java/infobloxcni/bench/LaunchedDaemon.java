package infobloxcni.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import infobloxcni.wapisim.WapiSimulator;
import infobloxcni.wire.Envelope;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The daemon under test, started through {@code bin/infoblox-cni-daemon} as its own process (so
 * its start-up, RSS and CPU are the real ones, with the launcher's flags and start-up archive),
 * on a fresh state directory, against the simulator over plain HTTP on loopback. The daemon's
 * tests start {@code DaemonMain} from their class path instead (their {@code DaemonProcess}),
 * before any jar or launcher of this build exists. Also the bench's own channel to it: envelopes straight over the
 * socket (no plugin) and the admin "status" request that tells when background work is done.
 */
final class LaunchedDaemon implements AutoCloseable {
    static final String PASSWORD = "infoblox";
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Journal states that mean work is still under way (an intent not yet settled on the grid). */
    private static final Set<String> PENDING =
            Set.of("ADD_PENDING", "DEL_PENDING", "TAG_PENDING", "RETURN_PENDING", "POOL_PENDING");

    final Process process;
    /** System.nanoTime() just before the exec. */
    final long startedNanos;

    final Path socketDir;
    final Path log;

    private LaunchedDaemon(Process process, long startedNanos, Path socketDir, Path log) {
        this.process = process;
        this.startedNanos = startedNanos;
        this.socketDir = socketDir;
        this.log = log;
    }

    /** Execs the daemon; returns at once (see {@link #awaitSocket}). */
    static LaunchedDaemon start(Path root, Path dir, WapiSimulator grid) throws IOException {
        Path run = dir.resolve("run"), log = dir.resolve("daemon.log"), tmp = dir.resolve("tmp");
        // tmp itself is left to the launcher, which makes it 0700 and refuses one anyone else could write
        Files.createDirectories(dir);
        ProcessBuilder pb = new ProcessBuilder(List.of(
                        root.resolve("bin/infoblox-cni-daemon").toString(),
                        "--grid-host",
                        "127.0.0.1",
                        "--wapi-port",
                        Integer.toString(grid.port()),
                        "--wapi-scheme",
                        "http",
                        "--wapi-username",
                        "admin",
                        "--socket-dir",
                        run.toString(),
                        "--state-dir",
                        dir.resolve("state").toString(),
                        "--cni-cache-dir",
                        dir.resolve("cni-cache").toString(),
                        "--network-view",
                        "bench_view",
                        "--host-id",
                        "bench-host"))
                .redirectInput(new File("/dev/null"))
                .redirectErrorStream(true)
                .redirectOutput(log.toFile());
        pb.environment().put("WAPI_PASSWORD", PASSWORD);
        pb.environment().put("INFOBLOX_CNI_TMPDIR", tmp.toString());
        long started = System.nanoTime();
        return new LaunchedDaemon(pb.start(), started, run, log);
    }

    long pid() {
        return process.pid();
    }

    Path socket() {
        return socketDir.resolve("infoblox.sock");
    }

    /** Polls (every millisecond) until the socket file exists; answers nanoseconds since the exec. */
    long awaitSocket(Duration within) throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        while (!Files.exists(socket())) {
            if (!process.isAlive())
                throw new IllegalStateException("the daemon exited with " + process.exitValue()
                        + " before binding its socket; see " + log + ":\n" + tail());
            if (System.nanoTime() > deadline)
                throw new IllegalStateException("no daemon socket after " + within + "; see " + log);
            Thread.sleep(1);
        }
        return System.nanoTime() - startedNanos;
    }

    /** One request straight over the socket, in the plugin's envelope. */
    Envelope.Response send(Map<String, String> env, String stdin) {
        try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            channel.connect(UnixDomainSocketAddress.of(socket()));
            new Envelope.Request(env, stdin.getBytes(StandardCharsets.UTF_8)).write(Channels.newOutputStream(channel));
            channel.shutdownOutput();
            return Envelope.Response.read(Channels.newInputStream(channel));
        } catch (IOException e) {
            throw new UncheckedIOException("request to the daemon at " + socket() + " failed", e);
        }
    }

    /** The admin "status" answer: grid health, journal records by state, pool levels and targets. */
    JsonNode status() {
        Envelope.Response r = send(Map.of("INFOBLOX_CNI_ADMIN", "status"), "");
        try {
            return JSON.readTree(r.stdout());
        } catch (IOException e) {
            throw new UncheckedIOException("daemon status is not JSON", e);
        }
    }

    /**
     * Waits until the daemon is idle: no intent pending in its journal, every pool at its target,
     * and no WAPI call reaching the simulator for 100 ms. After this, what the simulator counted
     * includes all the background work (tags, returns, refills) the calls before caused.
     */
    void awaitQuiet(WapiSimulator grid) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        long lastCount = -1;
        int stablePolls = 0;
        while (System.nanoTime() < deadline) {
            long count = grid.totalRequests();
            if (settled(status()) && count == lastCount) {
                if (++stablePolls >= 4) return;
            } else {
                stablePolls = 0;
            }
            lastCount = count;
            Thread.sleep(25);
        }
        System.err.println("infoblox-cni-bench: warning: the daemon was still busy after 60 s: " + status());
    }

    private static boolean settled(JsonNode status) {
        for (var states = status.path("journal").fieldNames(); states.hasNext(); ) {
            if (PENDING.contains(states.next())) return false;
        }
        for (JsonNode pool : status.path("pools")) {
            if (pool.path("free").asInt() < pool.path("target").asInt()) return false;
        }
        return true;
    }

    /** The command line the daemon's JVM runs with (the launcher's flags and $INFOBLOX_CNI_DAEMON_JAVA_OPTS included). */
    String commandLine() {
        try {
            return new String(
                            Files.readAllBytes(Path.of("/proc", Long.toString(pid()), "cmdline")),
                            StandardCharsets.UTF_8)
                    .replace('\0', ' ')
                    .strip();
        } catch (IOException e) {
            return "?";
        }
    }

    /** A note for each session whose daemon logged warnings or errors: a benchmark of a daemon in trouble says so. */
    List<String> logWarnings(int gridLatencyMs) {
        try {
            List<String> bad = Files.readAllLines(log, StandardCharsets.UTF_8).stream()
                    .filter(l -> l.contains(" WARNING ") || l.contains(" SEVERE "))
                    .toList();
            return bad.isEmpty()
                    ? List.of()
                    : List.of("the daemon of the " + gridLatencyMs + " ms session logged " + bad.size()
                            + " warning(s), first: " + bad.getFirst());
        } catch (IOException e) {
            return List.of("cannot read the daemon log " + log + ": " + e.getMessage());
        }
    }

    Procs.Memory memory() {
        return Procs.memory(pid());
    }

    long cpuNanos() {
        return Procs.cpuNanos(pid());
    }

    Map<String, Long> cpuNanosByThread() {
        return Procs.cpuNanosByThread(pid());
    }

    String tail() {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    /** SIGTERM (the daemon closes its journal in a shutdown hook), then SIGKILL after 20 s. */
    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(20, java.util.concurrent.TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
