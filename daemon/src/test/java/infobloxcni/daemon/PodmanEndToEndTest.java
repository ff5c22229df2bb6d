package infobloxcni.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import infobloxcni.daemon.ExternalCommand.Result;
import infobloxcni.daemon.audit.JournalAudit;
import infobloxcni.daemon.cni.NetConf;
import infobloxcni.daemon.grid.ReservationTags;
import infobloxcni.daemon.server.EnvelopeHandler;
import infobloxcni.wapisim.WapiSimulator;
import infobloxcni.wire.Envelope;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
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
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * End to end with a real container runtime: Podman 4.3 with its CNI backend runs containers on a
 * network whose ipam is {@code infoblox}. podman -> Debian's {@code bridge} plugin -> bin/infoblox
 * (the real plugin) -> the daemon, run as a separate process as on a host -> the WAPI simulator
 * in this JVM (HTTP on loopback). The grid is checked against what podman itself reports
 * ({@code podman container inspect}): one reservation per running container, at its address, with
 * its container ID, MAC and name; nothing for any other.
 *
 * <p>Everything is private to the test: podman's configuration, image store and run state live in
 * a temp dir ({@code CONTAINERS_CONF}, {@code CONTAINERS_STORAGE_CONF}); podman runs inside a
 * "host" network namespace of the test's own ({@code nsenter --net}, not {@code ip netns exec},
 * which remounts /sys and breaks the OCI runtime), so the bridge and the containers' veths never
 * touch the machine's root namespace; the image is imported from a busybox rootfs (no registry).
 * Left on the machine only while it runs, and removed after: the CNI results cache entries of its
 * network under /var/lib/cni/results (podman's; the daemon reads them as on a host), podman's blob
 * info cache under /var/lib/containers/cache, podman's network namespaces under /run/netns, and
 * what podman and runc leave once they have run (empty {@code libpod_parent} cgroups, /run/runc)
 * when this test created them. Daemon logs and journals stay in target/podman-e2e for a post-mortem.
 *
 * <p>The daemon runs with a pool of 2 (the default) and, in the kill test, also without one: with
 * a pool an ADD makes no grid call before its answer, so the kill finds the background tags; without,
 * it finds the ADD's own reservation in flight. Its WAPI call timeout is 2 s, as in the crash test:
 * an intent whose outcome a kill left unknown is settled after two of them.
 *
 * <p>Needs root and {@code apt-get install --no-install-recommends podman runc busybox-static
 * containernetworking-plugins iproute2}; skipped otherwise. {@code --runtime /usr/sbin/runc}
 * (crun fails here) and explicit ulimits (no CAP_SYS_RESOURCE here) as measured on these machines.
 */
class PodmanEndToEndTest {
    private static final long PID = ProcessHandle.current().pid();
    private static final String HOST_NS = "ibp-host-" + PID;
    /** The CNI network: its name prefixes podman's cache entries ({@code <network>-<container>-<if>}). */
    private static final String NETWORK = "ibpod-" + PID;

    private static final String BRIDGE = "ibpbr" + PID % 10_000_000;
    private static final String NET = "10.78." + PID % 250 + ".";
    private static final String SUBNET = NET + "0/24";
    private static final String HOST_ID = "podman-e2e";
    private static final String IMAGE = "localhost/ibcni-testbox";
    private static final String RUNC = "/usr/sbin/runc";
    private static final Path BRIDGE_PLUGIN = Path.of("/usr/lib/cni/bridge");
    private static final Path CNI_RESULTS = Path.of("/var/lib/cni/results");
    private static final Path CONTAINERS_CACHE = Path.of("/var/lib/containers/cache");
    /** runc's state root (podman does not move it): emptied by runc, the directory left behind. */
    private static final Path RUNC_ROOT = Path.of("/run/runc");

    private static final Pattern OUR_LEFTOVERS = Pattern.compile("ibp(?:-host|od)-(\\d+)(?:-.*)?");
    private static final Pattern INET = Pattern.compile("\\binet (\\d+\\.\\d+\\.\\d+\\.\\d+)/24\\b");
    private static final Pattern ADD_OK = Pattern.compile("RequestHandler: ADD \\S+ ok");
    private static final Duration SHORT = Duration.ofSeconds(15);
    /** Above the plugin's worst case: ipam.daemon-connect-timeout (15 s) plus ipam.daemon-timeout (30 s). */
    private static final Duration PODMAN_LIMIT = Duration.ofSeconds(60);

    private static final Duration SETTLE = Duration.ofSeconds(30);

    @TempDir
    static Path dir;

    private static Path socketDir;
    private static Map<String, String> podmanEnv;
    private static String skipReason;
    private static boolean hostNamespace;
    private static boolean cleaned;
    /** What this test may have to clean up outside its temp dir. */
    private static boolean cniResultsExisted;

    private static boolean containersCacheExisted;
    private static boolean runcRootExisted;
    /** podman's cgroupfs parents ({@code libpod_parent} in each hierarchy) that this test created. */
    private static final Set<Path> cgroupParentsBefore = ConcurrentHashMap.newKeySet();

    private static final Set<String> podmanNamespaces = ConcurrentHashMap.newKeySet();

    // per test
    private WapiSimulator grid;
    private Process daemon;
    private Path work;
    private final List<Path> daemonLogs = new ArrayList<>();
    /** Every container ID podman answered in this test, by name: the grid must hold nothing for those removed. */
    private final Map<String, String> idsByName = new ConcurrentHashMap<>();

    /** One container as {@code podman container inspect} reports it. */
    record Podded(String name, String id, boolean running, String status, String address, String mac, String sandbox) {}

    // --------------------------------------------------------------------------- set-up

    @BeforeAll
    static void setUp() throws Exception {
        skipReason = environmentProblem();
        if (skipReason != null) return;
        Runtime.getRuntime().addShutdownHook(new Thread(PodmanEndToEndTest::cleanUp, "ibp-cleanup"));
        cniResultsExisted = Files.exists(CNI_RESULTS);
        containersCacheExisted = Files.exists(CONTAINERS_CACHE);
        runcRootExisted = Files.exists(RUNC_ROOT);
        cgroupParentsBefore.addAll(cgroupParents());
        removeLeftoversOfDeadRuns();

        socketDir = Files.createDirectories(dir.resolve("sock"));
        Path cniBin = Files.createDirectories(dir.resolve("cni-bin"));
        Path netDir = Files.createDirectories(dir.resolve("net.d"));
        Path storage = Files.createDirectories(dir.resolve("storage"));
        Path podmanTmp = Files.createDirectories(dir.resolve("podman-tmp"));
        Path copyTmp = Files.createDirectories(dir.resolve("copy-tmp"));

        // Our plugin, found by podman in cni_plugin_dirs under its ipam.type; bridge and the others from /usr/lib/cni.
        Path binDir = findBinDir();
        Path plugin = cniBin.resolve("infoblox");
        Files.writeString(
                plugin, "#!/bin/sh\n" + pluginJarExport(binDir) + "exec '" + binDir.resolve("infoblox") + "' \"$@\"\n");
        Files.setPosixFilePermissions(plugin, PosixFilePermissions.fromString("rwxr-xr-x"));

        Files.writeString(
                dir.resolve("containers.conf"),
                String.join(
                        "\n",
                        "[engine]",
                        "cgroup_manager = \"cgroupfs\"",
                        "events_logger = \"none\"",
                        "tmp_dir = " + toml(podmanTmp),
                        "image_copy_tmp_dir = " + toml(copyTmp),
                        "[network]",
                        "network_backend = \"cni\"",
                        "cni_plugin_dirs = [" + toml(cniBin) + ", \"/usr/lib/cni\"]",
                        "network_config_dir = " + toml(netDir),
                        ""));
        Files.writeString(
                dir.resolve("storage.conf"),
                String.join(
                        "\n",
                        "[storage]",
                        "driver = \"vfs\"",
                        "graphroot = " + toml(storage.resolve("graph")),
                        "runroot = " + toml(storage.resolve("run")),
                        ""));
        podmanEnv = Map.of(
                "CONTAINERS_CONF",
                dir.resolve("containers.conf").toString(),
                "CONTAINERS_STORAGE_CONF",
                dir.resolve("storage.conf").toString());
        Files.writeString(
                netDir.resolve(NETWORK + ".conflist"),
                "{\"cniVersion\":\"1.0.0\",\"name\":\"" + NETWORK + "\",\"plugins\":[{"
                        + "\"type\":\"bridge\",\"bridge\":\"" + BRIDGE
                        + "\",\"isGateway\":true,\"ipMasq\":false,\"ipam\":{\"type\":\"infoblox\","
                        + "\"subnet\":\"" + SUBNET + "\",\"socket-dir\":\"" + socketDir
                        + "\",\"daemon-timeout\":30,\"daemon-connect-timeout\":15}}]}\n");

        Result add = ExternalCommand.run(SHORT, "ip", "netns", "add", HOST_NS);
        if (!add.ok()) {
            skipReason = "`ip netns add` fails here: " + add;
            return;
        }
        hostNamespace = true;
        mustRun(SHORT, "ip", "netns", "exec", HOST_NS, "ip", "link", "set", "lo", "up");

        // The image: a static busybox and the applets the test uses, imported (no registry).
        Path rootfs = Files.createDirectories(dir.resolve("rootfs").resolve("bin"));
        Files.copy(busybox(), rootfs.resolve("busybox"));
        for (String applet : List.of("sh", "sleep", "true", "ip", "ping"))
            Files.createSymbolicLink(rootfs.resolve(applet), Path.of("busybox"));
        Path tar = dir.resolve("rootfs.tar");
        mustRun(SHORT, "tar", "-C", dir.resolve("rootfs").toString(), "-cf", tar.toString(), ".");
        mustPodman(Duration.ofSeconds(60), "import", tar.toString(), IMAGE);
    }

    /** Null when root, podman, runc, a static busybox, the bridge plugin, nsenter and ip are all there. */
    private static String environmentProblem() throws IOException {
        int uid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        if (uid != 0) return "needs root for podman and network namespaces (running as uid " + uid + ")";
        String install =
                ": apt-get install --no-install-recommends podman runc busybox-static containernetworking-plugins iproute2";
        for (String exe :
                List.of("/usr/bin/podman", RUNC, BRIDGE_PLUGIN.toString(), "/usr/bin/nsenter", "/usr/bin/tar")) {
            if (!Files.isExecutable(Path.of(exe))) return exe + " is missing" + install;
        }
        if (ExternalCommand.run(SHORT, "ip", "netns", "list").exit() != 0) return "`ip netns` fails here" + install;
        if (busybox() == null) return "no busybox" + install;
        Result ldd = ExternalCommand.run(SHORT, "ldd", busybox().toString());
        if (ldd.ok() && !ldd.stdout().contains("statically linked"))
            return busybox() + " is dynamically linked" + install;
        return null;
    }

    private static Path busybox() {
        for (String p : List.of("/bin/busybox", "/usr/bin/busybox")) {
            if (Files.isExecutable(Path.of(p))) return Path.of(p);
        }
        return null;
    }

    private static Path findBinDir() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isExecutable(p.resolve("bin").resolve("infoblox"))) return p.resolve("bin");
        }
        throw new AssertionError("bin/infoblox not found above " + Path.of("").toAbsolutePath());
    }

    /** Nothing when plugin/target/plugin.jar is built; else (`mvn test` runs before `package`) the plugin's classes. */
    private static String pluginJarExport(Path binDir) throws IOException {
        Path jar = PluginJar.unlessPackaged(binDir, dir);
        return jar == null ? "" : "INFOBLOX_CNI_PLUGIN_JAR='" + jar + "'; export INFOBLOX_CNI_PLUGIN_JAR\n";
    }

    private static String toml(Path p) {
        return "\"" + p.toString().replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    /** Host namespaces and CNI cache entries of runs of this test whose JVM is gone (killed). */
    private static void removeLeftoversOfDeadRuns() throws IOException {
        for (String line :
                ExternalCommand.run(SHORT, "ip", "netns", "list").stdout().split("\n")) {
            String name = line.strip().split("\\s+")[0];
            if (deadRun(name)) ExternalCommand.run(SHORT, "ip", "netns", "del", name);
        }
        if (Files.isDirectory(CNI_RESULTS)) {
            try (var entries = Files.list(CNI_RESULTS)) {
                for (Path p : (Iterable<Path>) entries::iterator) {
                    if (deadRun(p.getFileName().toString())) Files.deleteIfExists(p);
                }
            }
        }
    }

    private static boolean deadRun(String name) {
        Matcher m = OUR_LEFTOVERS.matcher(name);
        return m.matches()
                && Long.parseLong(m.group(1)) != PID
                && ProcessHandle.of(Long.parseLong(m.group(1))).isEmpty();
    }

    @AfterAll
    static void tearDown() {
        cleanUp();
    }

    /** Idempotent: from {@link #tearDown()} and from the shutdown hook. */
    private static synchronized void cleanUp() {
        // Never without this test's own configuration: podman would then act on the machine's default store.
        if (podmanEnv == null || cleaned || !Files.isRegularFile(Path.of(podmanEnv.get("CONTAINERS_STORAGE_CONF"))))
            return;
        cleaned = true;
        String[] rm = {"rm", "--all", "--force", "--time", "0"};
        if (hostNamespace) podman(PODMAN_LIMIT, rm);
        else ExternalCommand.run(PODMAN_LIMIT, podmanEnv, null, "podman", rm[0], rm[1], rm[2], rm[3], rm[4]);
        ExternalCommand.run(PODMAN_LIMIT, podmanEnv, null, "podman", "rmi", "--all", "--force");
        for (String ns : List.copyOf(podmanNamespaces)) {
            Path path = Path.of(ns);
            if (Files.exists(path))
                ExternalCommand.run(
                        SHORT, "ip", "netns", "del", path.getFileName().toString());
            if (Files.notExists(path)) podmanNamespaces.remove(ns);
        }
        if (hostNamespace
                && ExternalCommand.run(SHORT, "ip", "netns", "del", HOST_NS).ok())
            hostNamespace = false; // the bridge goes with it
        try {
            if (Files.isDirectory(CNI_RESULTS)) {
                try (var entries = Files.list(CNI_RESULTS)) {
                    for (Path p : (Iterable<Path>) entries::iterator) {
                        if (p.getFileName().toString().startsWith(NETWORK + "-")) Files.deleteIfExists(p);
                    }
                }
                if (!cniResultsExisted) {
                    deleteIfEmpty(CNI_RESULTS);
                    deleteIfEmpty(CNI_RESULTS.getParent());
                }
            }
            if (!containersCacheExisted && Files.isDirectory(CONTAINERS_CACHE)) {
                Files.deleteIfExists(CONTAINERS_CACHE.resolve("blob-info-cache-v1.boltdb"));
                deleteIfEmpty(CONTAINERS_CACHE);
                deleteIfEmpty(CONTAINERS_CACHE.getParent());
            }
            if (!runcRootExisted && Files.isDirectory(RUNC_ROOT)) deleteIfEmpty(RUNC_ROOT);
            for (Path parent : cgroupParents()) {
                if (!cgroupParentsBefore.contains(parent)) removeCgroupTree(parent);
            }
        } catch (IOException e) {
            System.err.println("PodmanEndToEndTest: cleanup: " + e);
        }
    }

    /** podman's parent cgroup ({@code cgroup_manager = "cgroupfs"}), in each hierarchy (v1) or the one (v2). */
    private static List<Path> cgroupParents() throws IOException {
        List<Path> out = new ArrayList<>();
        Path root = Path.of("/sys/fs/cgroup");
        if (Files.isDirectory(root.resolve("libpod_parent"))) out.add(root.resolve("libpod_parent"));
        if (Files.isDirectory(root)) {
            try (var hierarchies = Files.list(root)) {
                for (Path h : (Iterable<Path>) hierarchies::iterator) {
                    if (Files.isDirectory(h.resolve("libpod_parent"))) out.add(h.resolve("libpod_parent"));
                }
            }
        }
        return out;
    }

    /** rmdir of a cgroup and the cgroups below it, deepest first; one still in use stays (rmdir refuses). */
    private static void removeCgroupTree(Path cgroup) {
        try (var walk = Files.walk(cgroup)) {
            for (Path d : walk.filter(Files::isDirectory)
                    .sorted(java.util.Comparator.reverseOrder())
                    .toList()) {
                try {
                    Files.delete(d);
                } catch (IOException busy) {
                    // processes or child cgroups left: not ours to force
                }
            }
        } catch (IOException | java.io.UncheckedIOException e) {
            System.err.println("PodmanEndToEndTest: cgroup cleanup of " + cgroup + ": " + e);
        }
    }

    private static void deleteIfEmpty(Path d) throws IOException {
        try (var entries = Files.list(d)) {
            if (entries.findAny().isEmpty()) Files.delete(d);
        }
    }

    private void startGridAndDaemon(TestInfo test, int poolSize, Duration gridLatency) throws IOException {
        assumeTrue(skipReason == null, () -> "skipped: " + skipReason);
        grid = TestHost.startGrid();
        grid.faults().latency(gridLatency);
        // kept for a post-mortem (daemon logs, journal), as the crash test keeps its own
        work = Path.of("")
                .toAbsolutePath()
                .resolve("target")
                .resolve("podman-e2e")
                .resolve(test.getDisplayName().replaceAll("[^A-Za-z0-9]+", "-").replaceAll("^-|-$", ""));
        TestHost.deleteTree(work);
        Files.createDirectories(work);
        daemon = startDaemon(poolSize);
    }

    @AfterEach
    void removeContainersAndStop() {
        try {
            // while the daemon serves (after a failure it may not: podman then removes them all the same)
            if (skipReason == null) podman(PODMAN_LIMIT, "rm", "--all", "--force", "--time", "0");
        } finally {
            if (daemon != null) {
                daemon.destroyForcibly();
                try {
                    daemon.waitFor(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            if (grid != null) grid.close();
        }
    }

    // ------------------------------------------------------------------------------ tests

    /**
     * Four containers started at once get four distinct addresses that the grid holds for them;
     * a restarted one and a stopped-and-started one keep working with an address the grid holds
     * for them (nothing doubled); a stopped one holds nothing; removed ones hold nothing.
     */
    @Test
    void parallelContainersRestartAndRemove(TestInfo test) throws Exception {
        startGridAndDaemon(test, 2, Duration.ZERO);
        long t0 = System.nanoTime();
        List<String> names = List.of("a0", "a1", "a2", "a3");
        for (Result r : inParallel(
                names.stream().map(n -> (Supplier<Result>) () -> run(n)).toList())) {
            assertEquals(0, r.exit(), () -> "podman run failed: " + r + "\n" + daemonLogTail());
        }
        log("4 parallel `podman run`: " + millisSince(t0) + " ms");
        Map<String, Podded> first = awaitGridMatchesPodman();
        assertEquals(4, first.values().stream().map(Podded::address).distinct().count(), first::toString);

        long t1 = System.nanoTime();
        mustPodman(PODMAN_LIMIT, "restart", "--time", "0", "a0");
        mustPodman(PODMAN_LIMIT, "stop", "--time", "0", "a1");
        Map<String, Podded> running = awaitGridMatchesPodman(); // a1 stopped: the grid holds nothing for it
        assertEquals(Set.of("a0", "a2", "a3"), running.keySet(), () -> "a1 should be stopped: " + inspectByName());
        mustPodman(PODMAN_LIMIT, "start", "a1");
        Map<String, Podded> after = awaitGridMatchesPodman();
        log("restart, stop, start: " + millisSince(t1) + " ms");
        // inside the restarted containers: eth0 has the address podman reports, and the bridge carries packets
        long t1b = System.nanoTime();
        assertWorksInside("a0", after.get("a0").address(), after.get("a1").address());
        assertWorksInside("a1", after.get("a1").address(), after.get("a2").address());
        log("inside a0 and a1 (podman exec): " + millisSince(t1b) + " ms");

        long t2 = System.nanoTime();
        for (Result r : inParallel(List.of(
                () -> podman(PODMAN_LIMIT, "rm", "--force", "--time", "0", "a2"),
                () -> podman(PODMAN_LIMIT, "rm", "--force", "--time", "0", "a3")))) {
            assertEquals(0, r.exit(), r::toString);
        }
        Map<String, Podded> end = awaitGridMatchesPodman();
        log("2 parallel `podman rm` and the grid released: " + millisSince(t2) + " ms");
        assertEquals(Set.of("a0", "a1"), end.keySet());
        for (String n : List.of("a2", "a3")) {
            String id = idsByName.get(n);
            assertTrue(
                    Files.notExists(CNI_RESULTS.resolve(NETWORK + "-" + id + "-eth0")),
                    () -> "podman's cache entry of " + n);
        }

        // A container whose process ends by itself: conmon's exit command (`podman container cleanup`) does the DEL.
        long t3 = System.nanoTime();
        Result a4 = run("a4", "true");
        assertEquals(0, a4.exit(), a4::toString);
        mustPodman(PODMAN_LIMIT, "wait", "a4");
        Map<String, Podded> exited = awaitGridMatchesPodman();
        log("a container that exited by itself, released: " + millisSince(t3) + " ms");
        assertEquals(Set.of("a0", "a1"), exited.keySet());
        assertTrue(inspectByName().containsKey("a4"), () -> "a4 should still exist (exited): " + inspectByName());
        assertAuditClean(exited);
    }

    /**
     * The daemon is killed with SIGKILL while four containers are being started at once, at the
     * moment the first grid write they cause is in flight, and started again on the same journal; a
     * container is removed while it is down. podman runs whose plugin call the kill broke are
     * started again ({@code podman start}), as an operator or a runtime's retry would. Nothing is lost or doubled: at the end the grid
     * holds exactly one reservation per running container, at the address podman reports, and
     * nothing for removed ones. Without a pool the ADDs are grid writes (slowed down so that the
     * kill finds one in flight); with a pool, the background tags are what the kill interrupts.
     */
    @ParameterizedTest(name = "pool size {0}")
    @ValueSource(ints = {0, 2})
    void daemonKilledWhileContainersStart(int poolSize, TestInfo test) throws Exception {
        startGridAndDaemon(test, poolSize, Duration.ofMillis(150));
        for (Result r : inParallel(List.of(() -> run("b0"), () -> run("b1")))) assertEquals(0, r.exit(), r::toString);
        awaitGridMatchesPodman();

        awaitSettledJournal(); // the pool refilled: the grid is quiet
        long writesBefore = gridWrites();
        int addsBefore = addsAnswered();
        long t0 = System.nanoTime();
        List<String> names = List.of("b2", "b3", "b4", "b5");
        List<String> broken = new ArrayList<>();
        long killMillis;
        long servingAfter;
        int answeredBeforeKill;
        try (ExecutorService runtime = Executors.newFixedThreadPool(names.size() + 1)) {
            List<Future<Result>> runs = new ArrayList<>();
            for (String n : names) runs.add(runtime.submit(() -> run(n)));
            // The kill comes while the first grid write these starts cause is in flight (the grid holds
            // each call 150 ms, then applies it): without a pool, an ADD's reservation; with one, the
            // background tag of an address already handed out, or a refill.
            long deadline = System.nanoTime() + PODMAN_LIMIT.toNanos();
            while (gridWrites() == writesBefore) {
                if (System.nanoTime() > deadline)
                    fail("no grid write within " + PODMAN_LIMIT + ":\n" + daemonLogTail());
                Thread.sleep(2);
            }
            answeredBeforeKill = addsAnswered() - addsBefore;
            killMillis = millisSince(t0);
            daemon.destroyForcibly(); // SIGKILL
            assertTrue(daemon.waitFor(10, TimeUnit.SECONDS), "the daemon did not die on SIGKILL");
            long killedAt = System.nanoTime();
            // removed while the daemon is down: its DEL waits for the socket (ipam.daemon-connect-timeout)
            Future<Result> rm = runtime.submit(() -> podman(PODMAN_LIMIT, "rm", "--force", "--time", "0", "b0"));
            daemon = startDaemon(poolSize);
            servingAfter = millisSince(killedAt);

            for (int i = 0; i < names.size(); i++) {
                Result r = runs.get(i).get(PODMAN_LIMIT.toSeconds() + 10, TimeUnit.SECONDS);
                if (!r.ok())
                    broken.add(names.get(i) + ": "
                            + r.stderr().strip().lines().reduce((a, b) -> b).orElse(""));
            }
            Result rmResult = rm.get(PODMAN_LIMIT.toSeconds() + 10, TimeUnit.SECONDS);
            assertEquals(0, rmResult.exit(), rmResult::toString);
        }
        int restarted = 0;
        for (Podded c : inspect()) {
            if (!c.running()) {
                mustPodman(PODMAN_LIMIT, "start", c.name()); // the runtime's retry
                restarted++;
            }
        }
        log("pool " + poolSize + ": killed " + killMillis + " ms into 4 parallel `podman run`, " + answeredBeforeKill
                + " ADD(s) of them answered by then, a grid write in flight; serving again "
                + servingAfter + " ms after the kill; runs the kill broke: " + broken.size() + " " + broken
                + "; started again: " + restarted);

        mustPodman(PODMAN_LIMIT, "rm", "--force", "--time", "0", "b2");
        Map<String, Podded> end = awaitGridMatchesPodman();
        assertEquals(Set.of("b1", "b3", "b4", "b5"), end.keySet());
        assertAuditClean(end);
        log("pool " + poolSize + ": kill test " + millisSince(t0) + " ms");
    }

    /**
     * A container started from the pool while the grid is away (its tag cannot be made yet), then
     * the daemon killed and its journal lost. The rebuilt journal learns from podman's own CNI
     * cache (a network list, as every runtime caches it) that the pool address on the grid is that
     * container's, not a free one: the next container gets another address, and the grid ends up
     * holding each once, for its container.
     */
    @Test
    void aLostJournalIsRebuiltFromTheGridAndPodmansCache(TestInfo test) throws Exception {
        startGridAndDaemon(test, 2, Duration.ZERO);
        assertEquals(0, run("c0").exit());
        awaitGridMatchesPodman();
        awaitSettledJournal(); // the pool is full
        grid.faults().outage(true);
        Result c1 = run("c1");
        assertEquals(0, c1.exit(), () -> "a start from the pool needs no grid: " + c1 + "\n" + daemonLogTail());
        daemon.destroyForcibly();
        assertTrue(daemon.waitFor(10, TimeUnit.SECONDS));
        TestHost.deleteTree(work.resolve("state").resolve("journal"));
        grid.faults().outage(false);
        daemon = startDaemon(2);
        Result c2 = run("c2");
        assertEquals(0, c2.exit(), c2::toString);
        Map<String, Podded> end = awaitGridMatchesPodman();
        assertEquals(Set.of("c0", "c1", "c2"), end.keySet());
        assertEquals(
                3,
                end.values().stream().map(Podded::address).distinct().count(),
                () -> "an address given twice: " + end);
        assertAuditClean(end);
    }

    // --------------------------------------------------------------------------- podman

    private static Result podman(Duration limit, String... args) {
        List<String> argv = new ArrayList<>(List.of("nsenter", "--net=/var/run/netns/" + HOST_NS, "podman"));
        argv.addAll(List.of(args));
        return ExternalCommand.run(limit, podmanEnv, null, argv.toArray(String[]::new));
    }

    private static Result mustPodman(Duration limit, String... args) {
        Result r = podman(limit, args);
        assertEquals(0, r.exit(), () -> "podman failed: " + r);
        return r;
    }

    private Result run(String name) {
        return run(name, "sleep", "600");
    }

    private Result run(String name, String... command) {
        List<String> args = new ArrayList<>(List.of(
                "run",
                "--detach",
                "--name",
                name,
                "--network",
                NETWORK,
                "--runtime",
                RUNC,
                "--ulimit",
                "nofile=4096:4096",
                "--ulimit",
                "nproc=4096:4096",
                "--stop-timeout",
                "0",
                "--cap-add",
                "NET_RAW",
                IMAGE));
        args.addAll(List.of(command));
        Result r = podman(PODMAN_LIMIT, args.toArray(String[]::new));
        String id = r.stdout().strip();
        if (r.ok() && id.matches("[0-9a-f]{64}")) idsByName.put(name, id);
        return r;
    }

    /** Every container podman knows (its own store: only this test's), by name. */
    private Map<String, Podded> inspectByName() {
        Map<String, Podded> out = new TreeMap<>();
        for (Podded c : inspect()) out.put(c.name(), c);
        return out;
    }

    private List<Podded> inspect() {
        String names = mustPodman(SHORT, "ps", "--all", "--format", "{{.Names}}")
                .stdout()
                .strip();
        if (names.isEmpty()) return List.of();
        List<String> args = new ArrayList<>(List.of("container", "inspect"));
        args.addAll(List.of(names.split("\\s+")));
        JsonNode all = json(mustPodman(SHORT, args.toArray(String[]::new)));
        List<Podded> out = new ArrayList<>();
        for (JsonNode c : all) {
            JsonNode net = c.path("NetworkSettings").path("Networks").path(NETWORK);
            String sandbox = c.path("NetworkSettings").path("SandboxKey").asText("");
            if (!sandbox.isEmpty()) podmanNamespaces.add(sandbox);
            String name = c.path("Name").asText();
            idsByName.putIfAbsent(name, c.path("Id").asText());
            out.add(new Podded(
                    name,
                    c.path("Id").asText(),
                    c.path("State").path("Running").asBoolean(),
                    c.path("State").path("Status").asText(),
                    net.path("IPAddress").asText(""),
                    net.path("MacAddress").asText(""),
                    sandbox));
        }
        return out;
    }

    /**
     * One {@code podman exec}: the container's eth0 holds {@code address} (as a /24), and one
     * ICMP echo to {@code peer} across the test's bridge is answered.
     */
    private static void assertWorksInside(String name, String address, String peer) {
        Result r = podman(SHORT, "exec", name, "sh", "-c", "ip -4 addr show eth0 && ping -c 1 -W 2 " + peer);
        Matcher m = INET.matcher(r.stdout());
        assertTrue(m.find(), () -> "no /24 IPv4 address on eth0 in " + name + ": " + r);
        assertEquals(address, m.group(1), () -> name + ": eth0 inside the container vs podman inspect: " + r);
        assertEquals(0, r.exit(), () -> "ping from " + name + " to " + peer + " through " + BRIDGE + ": " + r);
    }

    // ---------------------------------------------------------------------------- the grid

    /**
     * Waits (bounded) until the grid matches what podman reports, then returns podman's running
     * containers by name. The daemon tags pool addresses and releases in the background, so
     * the grid gets there shortly after podman answered, not necessarily at once.
     */
    private Map<String, Podded> awaitGridMatchesPodman() {
        long deadline = System.nanoTime() + SETTLE.toNanos();
        while (true) {
            Map<String, Podded> all = inspectByName();
            Map<String, Podded> running = new TreeMap<>();
            all.forEach((n, c) -> {
                if (c.running()) running.put(n, c);
            });
            List<String> problems = gridProblems(running);
            if (problems.isEmpty()) return running;
            if (System.nanoTime() > deadline) {
                fail("after " + SETTLE.toSeconds() + " s the grid still disagrees with podman:\n  "
                        + String.join("\n  ", problems) + "\npodman: " + all.values() + "\ngrid: "
                        + grid.objects("fixedaddress") + "\n" + daemonLogTail());
            }
            sleep(50);
        }
    }

    /**
     * Empty when the grid holds exactly one reservation per running container, at the address
     * and MAC podman reports, with its container ID as {@code VM ID}, its name, and the owner
     * comment; nothing for any other container (stopped, removed, never started); no address
     * twice; and nothing else but the gateway and this host's pool entries.
     */
    private List<String> gridProblems(Map<String, Podded> running) {
        List<String> problems = new ArrayList<>();
        Map<String, Podded> runningById = new HashMap<>();
        running.values().forEach(c -> runningById.put(c.id(), c));
        Map<String, List<Map<String, Object>>> byContainer = new TreeMap<>();
        Map<Object, Integer> byAddress = new HashMap<>();
        for (Map<String, Object> f : grid.objects("fixedaddress")) {
            byAddress.merge(f.get("ipv4addr"), 1, Integer::sum);
            String vm = TestHost.ea(f, ReservationTags.VM_ID);
            String comment = String.valueOf(f.get("comment"));
            if (vm != null && !vm.equals(ReservationTags.NO_CONTAINER)) {
                byContainer.computeIfAbsent(vm, k -> new ArrayList<>()).add(f);
            } else if (!comment.equals("infoblox-cni gateway of network " + NETWORK)
                    && !comment.equals("infoblox-cni host=" + HOST_ID + " net=" + NETWORK + " pool")) {
                problems.add("a reservation that is neither a container's, the gateway nor a pool entry: " + f);
            }
        }
        byAddress.forEach((a, n) -> {
            if (n > 1) problems.add("address " + a + " reserved " + n + " times");
        });
        for (Podded c : running.values()) {
            List<Map<String, Object>> held = byContainer.getOrDefault(c.id(), List.of());
            if (held.size() != 1) {
                problems.add(
                        c.name() + " (" + c.id() + ", " + c.address() + ") is held " + held.size() + " times: " + held);
                continue;
            }
            Map<String, Object> r = held.getFirst();
            String expected = "{ipv4addr=" + c.address() + ", mac=" + c.mac() + ", name=" + c.name() + ", VM Name="
                    + c.name() + ", comment=infoblox-cni host=" + HOST_ID + " net=" + NETWORK + " if=eth0}";
            String actual = "{ipv4addr=" + r.get("ipv4addr") + ", mac=" + r.get("mac") + ", name=" + r.get("name")
                    + ", VM Name=" + TestHost.ea(r, ReservationTags.VM_NAME) + ", comment=" + r.get("comment") + "}";
            if (!expected.equals(actual))
                problems.add(c.name() + ": podman says " + expected + ", the grid holds " + actual);
        }
        Set<String> seenIds = Set.copyOf(idsByName.values());
        for (var e : byContainer.entrySet()) {
            if (runningById.containsKey(e.getKey())) continue;
            problems.add((seenIds.contains(e.getKey())
                            ? "container " + nameOf(e.getKey()) + " (not running)"
                            : "unknown container")
                    + " " + e.getKey() + " is still held: " + e.getValue());
        }
        return problems;
    }

    private String nameOf(String id) {
        return idsByName.entrySet().stream()
                .filter(e -> e.getValue().equals(id))
                .map(Map.Entry::getKey)
                .findFirst()
                .orElse("?");
    }

    /** The recover command's audit, asked over the daemon's socket: the journal agrees with the grid and with podman. */
    private void assertAuditClean(Map<String, Podded> running) throws IOException {
        JsonNode journal = awaitSettledJournal();
        List<JournalAudit.LiveAttachment> live = running.values().stream()
                .map(c -> new JournalAudit.LiveAttachment(NETWORK, c.id(), "eth0"))
                .toList();
        var args = NetConf.JSON.createObjectNode().put("apply", false).put("liveSource", "podman");
        args.set("live", JournalAudit.liveToJson(live));
        JournalAudit.Report report = JournalAudit.fromJson(admin("audit", args.toString()));
        assertEquals(List.of(), report.findings(), () -> "audit findings; journal: " + journal);
    }

    /**
     * Polls the journal until no intent is pending (every record ALLOCATED or POOL) and no pool
     * holds more free addresses than its target: a pool grows past it when DELs give addresses back
     * while a kill or an outage stops the keeper, and the keeper trims it on its next pass.
     */
    private JsonNode awaitSettledJournal() throws IOException {
        long deadline = System.nanoTime() + SETTLE.toNanos();
        while (true) {
            JsonNode journal = admin("journal", "");
            List<String> pending = new ArrayList<>();
            for (JsonNode record : journal) {
                String state = record.path("state").asText();
                if (!state.equals("ALLOCATED") && !state.equals("POOL")) pending.add(record.toString());
            }
            var pools = admin("status", "").path("pools").properties();
            for (var pool : pools) {
                int free = pool.getValue().path("free").asInt();
                int target = pool.getValue().path("target").asInt(-1);
                if (target >= 0 && free > target)
                    pending.add("pool " + pool.getKey() + ": " + free + " free addresses, target " + target);
            }
            if (pending.isEmpty()) return journal;
            if (System.nanoTime() > deadline) {
                fail("journal still pending after " + SETTLE.toSeconds() + " s: " + pending + "\n" + daemonLogTail());
            }
            sleep(50);
        }
    }

    // ---------------------------------------------------------------------------- daemon

    /** The daemon as a host runs it: its own process, podman's CNI cache, a fixed host ID. Returns once it serves. */
    private Process startDaemon(int poolSize) throws IOException {
        Path logFile = work.resolve(String.format("daemon-%d.log", daemonLogs.size() + 1));
        daemonLogs.add(logFile);
        long t0 = System.nanoTime();
        Process p = DaemonProcess.launch(grid, socketDir, work.resolve("state"), HOST_ID, CNI_RESULTS)
                .jvm(DaemonProcess.FAST_START)
                .jvm("-Djava.io.tmpdir=" + Files.createDirectories(work.resolve("tmp")))
                .flags("--pool-size", String.valueOf(poolSize))
                .flags(DaemonProcess.KILLED_MID_CALL)
                .start(logFile);
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (true) {
            if (!p.isAlive()) fail("the daemon exited with " + p.exitValue() + " before serving:\n" + daemonLogTail());
            try {
                admin("journal", "");
                log("daemon serving " + millisSince(t0) + " ms after its start");
                return p;
            } catch (IOException | RuntimeException notYet) {
                if (System.nanoTime() > deadline) fail("the daemon did not serve within 30 s:\n" + daemonLogTail());
            }
            sleep(25);
        }
    }

    /** The writes the grid has seen: reservations, changes, deletions, multiple requests (a verified write or release). */
    private long gridWrites() {
        return grid.requestCount("POST", "fixedaddress")
                + grid.requestCount("PUT", "fixedaddress")
                + grid.requestCount("DELETE", "fixedaddress")
                + grid.requestCount("POST", "request");
    }

    /** How many ADDs the current daemon has answered with success, from its log. */
    private int addsAnswered() throws IOException {
        int n = 0;
        for (String line : Files.readAllLines(daemonLogs.getLast(), StandardCharsets.UTF_8)) {
            if (ADD_OK.matcher(line).find()) n++;
        }
        return n;
    }

    /** An admin request over the daemon's socket, as infoblox-cni-recover sends it. */
    private JsonNode admin(String command, String stdin) throws IOException {
        CompletableFuture<Envelope.Response> answer = new CompletableFuture<>();
        try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            channel.connect(UnixDomainSocketAddress.of(socketDir.resolve("infoblox.sock")));
            Thread.ofVirtual().start(() -> {
                try {
                    new Envelope.Request(
                                    Map.of(EnvelopeHandler.ADMIN_ENV, command), stdin.getBytes(StandardCharsets.UTF_8))
                            .write(Channels.newOutputStream(channel));
                    answer.complete(Envelope.Response.read(Channels.newInputStream(channel)));
                } catch (Throwable t) {
                    answer.completeExceptionally(t);
                }
            });
            Envelope.Response response = answer.get(10, TimeUnit.SECONDS);
            if (response.exitCode() != 0) {
                throw new IOException("admin " + command + " answered " + response.exitCode() + ": "
                        + new String(response.stdout(), StandardCharsets.UTF_8));
            }
            return NetConf.JSON.readTree(response.stdout());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new IOException("admin " + command + ": " + e, e);
        }
    }

    private String daemonLogTail() {
        StringBuilder sb = new StringBuilder();
        for (Path log : daemonLogs) {
            try {
                List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
                sb.append("--- ")
                        .append(log)
                        .append(" (last lines)\n")
                        .append(String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size())))
                        .append('\n');
            } catch (IOException e) {
                sb.append("--- ").append(log).append(": ").append(e).append('\n');
            }
        }
        return sb.toString();
    }

    // ---------------------------------------------------------------------------- helpers

    private static List<Result> inParallel(List<Supplier<Result>> calls) throws Exception {
        try (ExecutorService pool = Executors.newFixedThreadPool(calls.size())) {
            List<Future<Result>> futures = new ArrayList<>();
            for (Supplier<Result> c : calls) futures.add(pool.submit(c::get));
            List<Result> out = new ArrayList<>();
            for (Future<Result> f : futures) out.add(f.get());
            return out;
        }
    }

    private static Result mustRun(Duration timeout, String... argv) {
        Result r = ExternalCommand.run(timeout, argv);
        assertEquals(0, r.exit(), () -> "command failed: " + r);
        return r;
    }

    private static JsonNode json(Result r) {
        try {
            return NetConf.JSON.readTree(r.stdout());
        } catch (IOException e) {
            throw new AssertionError("not JSON: " + r, e);
        }
    }

    private static long millisSince(long nanos) {
        return (System.nanoTime() - nanos) / 1_000_000;
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static void log(String line) {
        System.out.println("podman e2e: " + line);
        System.out.flush();
    }
}
