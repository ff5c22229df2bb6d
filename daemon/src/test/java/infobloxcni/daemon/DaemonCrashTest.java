package infobloxcni.daemon;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import infobloxcni.daemon.audit.JournalAudit;
import infobloxcni.daemon.cni.NetConf;
import infobloxcni.daemon.config.DaemonConfig;
import infobloxcni.daemon.grid.ReservationTags;
import infobloxcni.daemon.server.EnvelopeHandler;
import infobloxcni.wapi.SslVerify;
import infobloxcni.wapi.WapiConfig;
import infobloxcni.wapisim.WapiSimulator;
import infobloxcni.wire.CniError;
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
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The crash test: the daemon runs as a separate process and is killed with SIGKILL, again and
 * again, at random moments while the real plugin ({@code bin/infoblox}, one JVM per call) is
 * adding and deleting containers concurrently, and while the simulated grid loses answers to
 * writes it did apply or answers them 503. Its refs are a grid's: an address a DEL frees is
 * handed out next under the same ref, so a release retried blind would delete a live
 * container's reservation (and "lost" below would count it). Each cycle restarts the daemon on the same state directory. At the end,
 * after the runtime's outstanding DELs, the grid (the truth) must hold exactly the containers
 * whose ADD succeeded and that no DEL released, each once, at the address its ADD answered;
 * nothing else; and the offline audit must find nothing.
 *
 * <p>Kills: 20 per grid kind by default; {@code -Dcrash.kills=1000} or env {@code CRASH_KILLS=1000} for a long
 * run. Also {@code crash.workers}/{@code CRASH_WORKERS} (default 3) and
 * {@code crash.seed}/{@code CRASH_SEED}. The work directory (journal, daemon logs) is kept in
 * {@code daemon/target/crash-test/<run>} for a post-mortem.
 */
class DaemonCrashTest {
    private static final String NETWORK = "crashnet";
    private static final String SUBNET = "10.66.0.0/16";
    private static final String HOST_ID = "crash-host";
    private static final Duration UP_WITHIN = Duration.ofSeconds(20);
    private static final Duration PLUGIN_LIMIT = Duration.ofSeconds(60);
    private static final Pattern MERGED =
            Pattern.compile("journal merged with the grid and the CNI cache: (\\d+) attachment");

    private WapiSimulator grid;
    private Path work;
    private Path runDir;
    private Path stateDir;
    private Path cacheDir;
    private Path logDir;
    private Path plugin;
    private Path pluginJar;
    private String netconf;
    private Process daemon;
    private final List<Path> daemonLogs = new ArrayList<>();
    private ExecutorService pool;
    private String daemonClassPath;

    // --------------------------------------------------------------------------- the model

    enum Outcome {
        OK,
        FAILED,
        UNKNOWN
    }

    /** One container as the runtime sees it. Guarded by the {@link Model}'s lock. */
    static final class Container {
        final String id;
        Outcome add; // null while the ADD is in flight
        String address; // what ADD answered (without prefix), when OK
        boolean delRequested; // the runtime wants it gone (it retries DEL until one succeeds)
        boolean delOk; // a DEL answered success
        boolean busy; // a call for it is in flight: the runtime serializes calls per container
        final List<String> history = new ArrayList<>();

        Container(String id) {
            this.id = id;
        }

        boolean needsDel() {
            return (add != Outcome.OK || delRequested) && !delOk;
        }

        boolean live() {
            return add == Outcome.OK && !delRequested;
        }
    }

    static final class Model {
        private final Map<String, Container> containers = new LinkedHashMap<>();

        synchronized Container create(int cycle, int n) {
            Container c = new Container("k" + cycle + "-" + n);
            c.busy = true;
            containers.put(c.id, c);
            return c;
        }

        /** A container to DEL now (marked busy), or null: then the worker ADDs a new one. */
        synchronized Container pickForDel(Random rnd) {
            List<Container> owed = new ArrayList<>();
            List<Container> present = new ArrayList<>();
            for (Container c : containers.values()) {
                if (c.busy) continue;
                if (c.needsDel()) owed.add(c);
                else if (c.live()) present.add(c);
            }
            Container pick = null;
            double r = rnd.nextDouble();
            if (!owed.isEmpty() && r < 0.5) {
                pick = owed.get(rnd.nextInt(owed.size()));
            } else if (!present.isEmpty() && rnd.nextDouble() < (present.size() > 40 ? 0.5 : 0.3)) {
                pick = present.get(rnd.nextInt(present.size()));
            }
            if (pick != null) {
                pick.busy = true;
                pick.delRequested = true;
            }
            return pick;
        }

        synchronized void release(Container c) {
            c.busy = false;
        }

        synchronized void record(Container c, String event) {
            c.history.add(event);
        }

        synchronized List<Container> all() {
            return List.copyOf(containers.values());
        }

        synchronized Container get(String id) {
            return containers.get(id);
        }
    }

    /** Counters of the whole run. */
    static final class Stats {
        final AtomicInteger addsOk = new AtomicInteger();
        final AtomicInteger addsUnknown = new AtomicInteger();
        final AtomicInteger addsFailed = new AtomicInteger();
        final AtomicInteger delsOk = new AtomicInteger();
        final AtomicInteger delsUnknown = new AtomicInteger();
        final AtomicInteger delsFailed = new AtomicInteger();
        final AtomicInteger inFlight = new AtomicInteger();
        final AtomicInteger dropsSet = new AtomicInteger();
        final AtomicInteger dropsPost = new AtomicInteger();
        final AtomicInteger dropsDelete = new AtomicInteger();
        final AtomicInteger failsAfterApply = new AtomicInteger();
        final Map<Integer, String> failureCodes = new TreeMap<>();
        final Map<Integer, Integer> failureCounts = new TreeMap<>();
        final ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();

        synchronized void failure(int code, String example) {
            failureCounts.merge(code, 1, Integer::sum);
            failureCodes.putIfAbsent(code, example);
        }
    }

    // ------------------------------------------------------------------------- set-up

    @BeforeEach
    void setUp(TestInfo test) throws IOException {
        String run = test.getDisplayName().replaceAll("[^A-Za-z0-9]+", "-").replaceAll("^-|-$", "");
        work = Path.of("")
                .toAbsolutePath()
                .resolve("target")
                .resolve("crash-test")
                .resolve(run);
        TestHost.deleteTree(work);
        runDir = work.resolve("run");
        stateDir = work.resolve("state");
        cacheDir = work.resolve("cache");
        logDir = work.resolve("logs");
        Files.createDirectories(logDir);
        plugin = findPlugin();
        netconf = "{\"cniVersion\":\"1.0.0\",\"name\":\"" + NETWORK
                + "\",\"type\":\"bridge\",\"ipam\":{\"type\":\"infoblox\","
                + "\"subnet\":\"" + SUBNET + "\",\"socket-dir\":\"" + runDir + "\",\"daemon-timeout\":10,"
                // a call made while the daemon is down retries briefly (the plugin's restart grace), then fails
                + "\"daemon-connect-timeout\":0.5,\"pool-size\":POOL}}";
        pool = Executors.newVirtualThreadPerTaskExecutor();
        pluginJar = snapshotPluginJar();
        preloadClassPath();
    }

    /**
     * Loads this project's classes and opens every jar of the class path now, so that the
     * in-process audit at the end does not depend on files that other builds on the same machine
     * may be rewriting by then (an opened jar stays readable when it is replaced).
     */
    private static void preloadClassPath() throws IOException {
        ClassLoader loader = DaemonCrashTest.class.getClassLoader();
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path path = Path.of(entry);
            List<String> names = new ArrayList<>();
            if (Files.isDirectory(path)) {
                try (var walk = Files.walk(path)) {
                    walk.map(p -> path.relativize(p).toString())
                            .filter(n -> n.startsWith("infobloxcni/"))
                            .forEach(names::add);
                }
            } else if (Files.isRegularFile(path) && entry.endsWith(".jar")) {
                try (java.util.jar.JarFile jar = new java.util.jar.JarFile(path.toFile())) {
                    boolean first = true;
                    for (var e : (Iterable<java.util.jar.JarEntry>) jar.stream()::iterator) {
                        String n = e.getName();
                        if (!n.endsWith(".class") || n.contains("-") || n.startsWith("META-INF/")) continue;
                        if (first || n.startsWith("infobloxcni/")) names.add(n);
                        first = false;
                    }
                }
            }
            for (String n : names) {
                if (!n.endsWith(".class") || n.contains("-")) continue;
                try {
                    Class.forName(n.substring(0, n.length() - 6).replace('/', '.'), false, loader);
                } catch (ClassNotFoundException | LinkageError ignored) {
                    // optional dependencies missing: not needed
                }
            }
        }
    }

    /**
     * The plugin runs from a private copy of plugin/target/plugin.jar and the lib/ its manifest
     * names (through the wrapper's INFOBLOX_CNI_PLUGIN_JAR), with a start-up archive trained for
     * that copy: other builds on the same machine must not pull the jar away in the middle of a
     * long run.
     */
    private Path snapshotPluginJar() throws IOException {
        Path jar = plugin.getParent().getParent().resolve("plugin/target/plugin.jar");
        Path copy = work.resolve("plugin").resolve("plugin.jar");
        Files.createDirectories(copy.resolveSibling("lib"));
        Files.copy(jar, copy);
        try (var libs = Files.list(jar.resolveSibling("lib"))) {
            for (Path lib : (Iterable<Path>) libs::iterator)
                Files.copy(lib, copy.resolveSibling("lib").resolve(lib.getFileName()));
        }
        ExternalCommand.Result train = ExternalCommand.run(
                Duration.ofMinutes(3),
                Map.of("INFOBLOX_CNI_PLUGIN_JAR", copy.toString()),
                null,
                plugin.toString(),
                "--train");
        if (!train.ok())
            log("note: no start-up archive for the plugin copy, plugin calls will start slower:\n" + train);
        return copy;
    }

    @AfterEach
    void tearDown() {
        if (daemon != null && daemon.isAlive()) {
            daemon.destroyForcibly();
            try {
                daemon.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (pool != null) pool.shutdownNow();
        if (grid != null) grid.close();
    }

    static Path findPlugin() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path candidate = p.resolve("bin").resolve("infoblox");
            if (Files.isExecutable(candidate) && Files.isDirectory(p.resolve("plugin"))) {
                if (!Files.isRegularFile(p.resolve("plugin/target/plugin.jar"))) {
                    throw new AssertionError("plugin/target/plugin.jar is missing: run mvn install first");
                }
                return candidate;
            }
        }
        throw new AssertionError("bin/infoblox not found above " + Path.of("").toAbsolutePath());
    }

    private static int setting(String property, String env, int fallback) {
        String v = System.getProperty(property);
        if (v == null || v.isBlank()) v = System.getenv(env);
        return v == null || v.isBlank() ? fallback : Integer.parseInt(v.trim());
    }

    // --------------------------------------------------------------------------- the test

    /**
     * On a grid with WAPI's multiple-request object (a release is one conditional request) and on
     * one without it (a release looks, then deletes): the two ways a verified release can go.
     */
    @ParameterizedTest(name = "request object: {0}, pool: {1}")
    @CsvSource({"true, 0", "false, 0", "true, 4"})
    void killNineUnderLoadLosesAndDuplicatesNothing(boolean requestObject, int poolSize) throws Exception {
        grid = WapiSimulator.builder()
                .port(0)
                .credentials(TestHost.USER, TestHost.PASSWORD)
                .requestObject(requestObject)
                .build()
                .start();
        netconf = netconf.replace("POOL", String.valueOf(poolSize));
        int kills = setting("crash.kills", "CRASH_KILLS", 20);
        int workers = setting("crash.workers", "CRASH_WORKERS", 3);
        long seed = setting("crash.seed", "CRASH_SEED", (int) System.nanoTime());
        Random rnd = new Random(seed);
        Model model = new Model();
        Stats stats = new Stats();
        long started = System.nanoTime();
        log("daemon crash test: kills=" + kills + " workers=" + workers + " seed=" + seed + " work=" + work + " plugin="
                + plugin + " grid port=" + grid.port());

        long maxUpMillis = 0;
        int kill = 0;
        for (int cycle = 1; cycle <= kills; cycle++) {
            daemon = startDaemon(cycle);
            long up = awaitServing(daemon, cycle);
            maxUpMillis = Math.max(maxUpMillis, up);

            AtomicBoolean stop = new AtomicBoolean();
            AtomicInteger counter = new AtomicInteger();
            CountDownLatch answered = new CountDownLatch(1);
            List<Future<?>> running = new ArrayList<>();
            for (int w = 0; w < workers; w++) {
                Random wr = new Random(rnd.nextLong());
                final int c = cycle;
                running.add(pool.submit(() -> workload(c, counter, wr, model, stats, stop, answered)));
            }
            // Mostly the kill comes 150-900 ms after the first answer of this cycle, so that requests
            // are in flight (a plugin JVM alone may take longer than that to start on a busy machine);
            // sometimes 0-900 ms after the daemon serves, while the start-up merge may still run.
            boolean early = rnd.nextDouble() < 0.2;
            long runMillis = early ? rnd.nextInt(901) : 150 + rnd.nextInt(751);
            long waitedMillis = 0;
            if (!early) {
                long w0 = System.nanoTime();
                answered.await(20, TimeUnit.SECONDS);
                waitedMillis = (System.nanoTime() - w0) / 1_000_000;
            }
            long dropAt = rnd.nextDouble() < 0.6 ? rnd.nextLong(Math.max(1, runMillis)) : -1;
            // a release travels as POST request, or (without it) as a DELETE; an ADD as a POST
            String dropMethod = requestObject || rnd.nextBoolean() ? "POST" : "DELETE";
            boolean answer503 = rnd.nextBoolean();
            long t0 = System.nanoTime();
            if (dropAt >= 0) {
                Thread.sleep(dropAt);
                injectLostResponse(dropMethod, answer503, stats);
            }
            Thread.sleep(Math.max(0, runMillis - (System.nanoTime() - t0) / 1_000_000));

            stop.set(true);
            daemon.destroyForcibly(); // SIGKILL
            if (!daemon.waitFor(10, TimeUnit.SECONDS)) fail("daemon did not die on SIGKILL in cycle " + cycle);
            kill++;
            for (Future<?> f : running) {
                try {
                    f.get(3 * PLUGIN_LIMIT.toSeconds(), TimeUnit.SECONDS);
                } catch (TimeoutException e) {
                    fail("a worker of cycle " + cycle + " did not finish: " + e);
                }
            }
            log(String.format(
                    "cycle %d: up in %d ms, killed %d ms after %s, %d requests served, %d new containers%s",
                    cycle,
                    up,
                    runMillis,
                    early ? "serving" : "the first answer (" + waitedMillis + " ms)",
                    served(daemonLogs.getLast()),
                    counter.get(),
                    dropAt >= 0
                            ? ", " + (answer503 ? "applied-then-503 " : "lost ") + dropMethod + " answer armed at "
                                    + dropAt + " ms"
                            : ""));
        }

        // ----------------------------------------------------------------- the runtime catches up
        int lostResponses = stats.dropsSet.get()
                - grid.faults().pendingDropsAfter()
                - grid.faults().pendingFailuresAfter();
        grid.faults().reset();
        daemon = startDaemon(kills + 1);
        maxUpMillis = Math.max(maxUpMillis, awaitServing(daemon, kills + 1));
        List<Future<?>> cleanup = new ArrayList<>();
        ExecutorService runtime = Executors.newFixedThreadPool(workers); // as many plugin calls at once as before
        try {
            for (Container c : model.all()) {
                if (c.needsDel()) cleanup.add(runtime.submit(() -> delUntilDone(c, model, stats)));
            }
            for (Future<?> f : cleanup) f.get(10, TimeUnit.MINUTES);
        } finally {
            runtime.shutdownNow();
        }
        JsonNode journal = awaitSettledJournal(Duration.ofSeconds(90), poolSize, stats);

        daemon.destroy(); // SIGTERM: a clean stop
        if (!daemon.waitFor(30, TimeUnit.SECONDS)) {
            stats.problems.add("daemon did not stop within 30 s of SIGTERM");
            daemon.destroyForcibly();
            daemon.waitFor(10, TimeUnit.SECONDS);
        }

        // ----------------------------------------------------------------- the audit and the truth
        List<JournalAudit.LiveAttachment> live = model.all().stream()
                .filter(Container::live)
                .map(c -> new JournalAudit.LiveAttachment(NETWORK, c.id, "eth0"))
                .toList();
        JournalAudit.Report audit = Daemon.auditOffline(offlineConfig(poolSize), live, "test", false, null);
        for (JournalAudit.Finding f : audit.findings()) {
            stats.problems.add("audit: " + f.kind() + " " + f.key().containerId() + "/"
                    + f.key().ifName() + " " + f.address() + ": " + f.detail());
        }

        Truth truth = checkGrid(model, stats);

        // ----------------------------------------------------------------- the logs
        int quarantined = 0;
        int mergeAdopted = 0;
        int mergeAdoptedRecords = 0;
        Map<String, Integer> notable = new TreeMap<>();
        for (Path logFile : daemonLogs) {
            for (String line : Files.readAllLines(logFile, StandardCharsets.UTF_8)) {
                if (line.contains("JOURNAL DAMAGED")) quarantined++;
                Matcher m = MERGED.matcher(line);
                if (m.find() && Integer.parseInt(m.group(1)) > 0) {
                    mergeAdopted++;
                    mergeAdoptedRecords += Integer.parseInt(m.group(1));
                }
                for (String what : List.of(
                        "adopted reservation",
                        "released duplicate reservation",
                        "had reserved",
                        "left nothing on the grid",
                        "deferred",
                        "pending release of",
                        "removing stale socket",
                        " SEVERE ",
                        "internal error")) {
                    if (line.contains(what)) notable.merge(what.strip(), 1, Integer::sum);
                }
            }
        }

        long seconds = (System.nanoTime() - started) / 1_000_000_000L;
        int unknown = stats.addsUnknown.get() + stats.delsUnknown.get();
        String summary = "daemon crash test (request object: " + requestObject + ", pool: " + poolSize + "): kills="
                + kill + " adds_ok=" + stats.addsOk.get() + " dels_ok=" + stats.delsOk.get()
                + " unknown=" + unknown + " lost_responses_injected=" + lostResponses + " journal_quarantined="
                + quarantined
                + " merge_adopted=" + mergeAdopted + " duplicates=" + truth.duplicates + " leaks=" + truth.leaks
                + " lost=" + truth.lost;
        String details = "details: seed=" + seed + " workers=" + workers + " time=" + seconds + "s containers="
                + model.all().size()
                + " live_at_end=" + live.size() + " on_grid=" + truth.containerReservations
                + " adds_unknown=" + stats.addsUnknown.get() + " adds_failed_other=" + stats.addsFailed.get()
                + " dels_unknown=" + stats.delsUnknown.get() + " dels_failed_other=" + stats.delsFailed.get()
                + " unknown_while_daemon_had_it=" + stats.inFlight.get()
                + " lost_armed=" + stats.dropsSet.get() + " (post " + stats.dropsPost.get() + ", delete "
                + stats.dropsDelete.get()
                + "; answered 503 after applying " + stats.failsAfterApply.get() + ")" + " request_object="
                + requestObject
                + " final_dels=" + cleanup.size()
                + " merge_adopted_records=" + mergeAdoptedRecords + " max_restart_ms=" + maxUpMillis
                + " journal_records_at_end=" + journal.size() + " audit_findings="
                + audit.findings().size()
                + " failure_codes=" + stats.failureCounts + " log_lines=" + notable;
        log(summary);
        log(details);
        stats.failureCodes.forEach((code, example) -> log("  example of code " + code + ": " + example));
        List<String> problems = List.copyOf(stats.problems);
        problems.stream().limit(40).forEach(p -> log("  PROBLEM: " + p));
        assertTrue(
                problems.isEmpty(),
                summary + "\n" + details + "\n" + problems.size() + " problem(s), first ones:\n  "
                        + String.join("\n  ", problems.subList(0, Math.min(40, problems.size())))
                        + "\n(daemon logs and journal in " + work + ")");
    }

    // ------------------------------------------------------------------------ workload

    private void workload(
            int cycle,
            AtomicInteger counter,
            Random rnd,
            Model model,
            Stats stats,
            AtomicBoolean stop,
            CountDownLatch answered) {
        sleep(rnd.nextInt(200)); // the workers' calls should not all arrive at once
        while (!stop.get()) {
            Container del = model.pickForDel(rnd);
            if (del != null) {
                del(del, model, stats, cycle);
                answered.countDown();
                continue;
            }
            Container c = model.create(cycle, counter.incrementAndGet());
            add(c, model, stats, cycle);
            answered.countDown();
            // a runtime DELs right after a failed ADD
            if (c.add != Outcome.OK && !stop.get()) {
                synchronized (model) {
                    c.delRequested = true;
                }
                del(c, model, stats, cycle);
            } else {
                model.release(c);
            }
        }
    }

    private void add(Container c, Model model, Stats stats, int cycle) {
        Call r = plugin("ADD", c.id);
        synchronized (model) {
            if (r.exit == 0) {
                c.add = Outcome.OK;
                c.address = r.address;
                stats.addsOk.incrementAndGet();
                c.history.add("cycle " + cycle + " ADD ok " + r.address);
            } else {
                c.add = r.code == CniError.TRY_AGAIN_LATER ? Outcome.UNKNOWN : Outcome.FAILED;
                (c.add == Outcome.UNKNOWN ? stats.addsUnknown : stats.addsFailed).incrementAndGet();
                c.history.add("cycle " + cycle + " ADD exit " + r.exit + " code " + r.code + ": " + r.msg);
            }
        }
        if (r.exit != 0) failure(stats, r, "ADD " + c.id);
        if (r.exit == 0 && (r.address == null || !r.address.startsWith("10.66."))) {
            stats.problems.add("ADD " + c.id + " answered success without an address of " + SUBNET + ": " + r.stdout);
        }
    }

    /** One DEL; the container stays owed a DEL when it does not succeed. Releases the busy mark. */
    private void del(Container c, Model model, Stats stats, int cycle) {
        Call r = plugin("DEL", c.id);
        synchronized (model) {
            if (r.exit == 0) {
                c.delOk = true;
                stats.delsOk.incrementAndGet();
                c.history.add("cycle " + cycle + " DEL ok");
            } else {
                (r.code == CniError.TRY_AGAIN_LATER ? stats.delsUnknown : stats.delsFailed).incrementAndGet();
                c.history.add("cycle " + cycle + " DEL exit " + r.exit + " code " + r.code + ": " + r.msg);
            }
            c.busy = false;
        }
        if (r.exit != 0) failure(stats, r, "DEL " + c.id);
    }

    /**
     * A killed daemon and a lost grid answer both end in "try again" (11); any other code means
     * something else went wrong (a journal failure, an internal error, a wrapper that cannot run).
     */
    private static void failure(Stats stats, Call r, String what) {
        stats.failure(r.code, what + ": " + r.msg);
        // the plugin's words when the daemon had the request and died before answering
        if (r.msg.contains("failed during the request") || r.msg.contains("closed the connection"))
            stats.inFlight.incrementAndGet();
        if (r.code != CniError.TRY_AGAIN_LATER)
            stats.problems.add(what + " failed with unexpected code " + r.code + ": " + r.msg);
    }

    /** The runtime's retries of an owed DEL, against a daemon that stays up. */
    private void delUntilDone(Container c, Model model, Stats stats) {
        synchronized (model) {
            c.delRequested = true;
            c.busy = true;
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (true) {
            Call r = plugin("DEL", c.id);
            synchronized (model) {
                if (r.exit == 0) {
                    c.delOk = true;
                    c.busy = false;
                    stats.delsOk.incrementAndGet();
                    c.history.add("final DEL ok");
                    return;
                }
                c.history.add("final DEL exit " + r.exit + " code " + r.code + ": " + r.msg);
            }
            if (r.code != CniError.TRY_AGAIN_LATER || System.nanoTime() > deadline) {
                stats.problems.add(
                        "final DEL of " + c.id + " failed: exit " + r.exit + " code " + r.code + ": " + r.msg);
                return;
            }
            sleep(300);
        }
    }

    /** The grid applies the next write of this method, then loses its answer or answers 503 instead. */
    private void injectLostResponse(String method, boolean answer503, Stats stats) {
        if (grid.faults().pendingDropsAfter() + grid.faults().pendingFailuresAfter() > 0)
            return; // the last one has not happened yet
        if (answer503) {
            grid.faults().failAfterApplyingNext(1, 503, "Server.Unavailable", "Service Unavailable", method);
            stats.failsAfterApply.incrementAndGet();
        } else {
            grid.faults().dropAfterApplyingNext(1, method);
        }
        stats.dropsSet.incrementAndGet();
        (method.equals("POST") ? stats.dropsPost : stats.dropsDelete).incrementAndGet();
    }

    /** What one plugin run did. */
    record Call(int exit, int code, String address, String msg, String stdout) {}

    private Call plugin(String command, String containerId) {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("CNI_COMMAND", command);
        env.put("CNI_CONTAINERID", containerId);
        env.put("CNI_IFNAME", "eth0");
        env.put("CNI_NETNS", "/nonexistent");
        env.put("CNI_PATH", plugin.getParent().toString());
        env.put("INFOBLOX_CNI_PLUGIN_JAR", pluginJar.toString());
        ExternalCommand.Result r = ExternalCommand.run(PLUGIN_LIMIT, env, netconf, plugin.toString());
        if (r.timedOut()) return new Call(-1, -1, null, "plugin timed out: " + r, r.stdout());
        JsonNode json = null;
        if (!r.stdout().isBlank()) {
            try {
                json = NetConf.JSON.readTree(r.stdout());
            } catch (IOException e) {
                return new Call(r.exit() == 0 ? -2 : r.exit(), -2, null, "stdout is not JSON: " + r, r.stdout());
            }
        }
        if (r.exit() == 0) {
            String address = json == null
                    ? null
                    : json.path("ips").path(0).path("address").asText(null);
            if (address != null) address = address.replaceFirst("/.*", "");
            return new Call(0, 0, address, "", r.stdout());
        }
        int code = json == null ? -3 : json.path("code").asInt(-3);
        String msg = json == null ? "no JSON: " + r : json.path("msg").asText();
        return new Call(r.exit(), code, null, msg, r.stdout());
    }

    // --------------------------------------------------------------------------- daemon

    private Process startDaemon(int cycle) throws IOException {
        Path logFile = logDir.resolve(String.format("daemon-%04d.log", cycle));
        daemonLogs.add(logFile);
        return DaemonProcess.launch(grid, runDir, stateDir, HOST_ID, cacheDir)
                .jvm(DaemonProcess.FAST_START)
                .classPath(daemonClassPath())
                .flags(DaemonProcess.KILLED_MID_CALL)
                .start(logFile);
    }

    /** Waits until the daemon answers an admin request on its socket; returns how long that took. */
    private long awaitServing(Process p, int cycle) throws IOException {
        long t0 = System.nanoTime();
        long deadline = t0 + UP_WITHIN.toNanos();
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                fail("daemon of cycle " + cycle + " exited with code " + p.exitValue() + " before serving:\n"
                        + tail(daemonLogs.getLast()));
            }
            if (Files.exists(socket())) {
                try {
                    admin("journal", Duration.ofSeconds(5));
                    return (System.nanoTime() - t0) / 1_000_000;
                } catch (IOException | RuntimeException notYet) {
                    // a stale socket from the killed daemon, or not listening yet
                }
            }
            sleep(25);
        }
        fail("daemon of cycle " + cycle + " did not serve within " + UP_WITHIN.toSeconds() + " s:\n"
                + tail(daemonLogs.getLast()));
        return -1;
    }

    private Path socket() {
        return runDir.resolve("infoblox.sock");
    }

    /** How many CNI requests a daemon answered, from its log. */
    private static int served(Path logFile) throws IOException {
        int n = 0;
        for (String line : Files.readAllLines(logFile, StandardCharsets.UTF_8)) {
            if (line.contains("RequestHandler:")) n++;
        }
        return n;
    }

    /**
     * A private copy of this JVM's class path for the daemon: other builds running on the same
     * machine (mvn install rewrites target/classes and the local repository) must not change or
     * break the daemon between two restarts of a long run.
     */
    private String daemonClassPath() throws IOException {
        if (daemonClassPath != null) return daemonClassPath;
        Path snapshot = work.resolve("classpath");
        List<String> entries = new ArrayList<>();
        int i = 0;
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            if (entry.isBlank()) continue;
            Path from = Path.of(entry);
            if (!Files.exists(from)) continue;
            Path to = snapshot.resolve(String.format("%03d-%s", i++, from.getFileName()));
            if (Files.isDirectory(from)) {
                try (var walk = Files.walk(from)) {
                    for (Path p : (Iterable<Path>) walk::iterator) {
                        Path target = to.resolve(from.relativize(p).toString());
                        if (Files.isDirectory(p)) Files.createDirectories(target);
                        else Files.copy(p, target);
                    }
                }
            } else {
                Files.createDirectories(snapshot);
                Files.copy(from, to);
            }
            entries.add(to.toString());
        }
        daemonClassPath = String.join(File.pathSeparator, entries);
        return daemonClassPath;
    }

    /** An admin request over the socket (as infoblox-cni-recover sends it); answers the JSON. */
    private JsonNode admin(String command, Duration limit) throws IOException {
        Future<Envelope.Response> answer;
        SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        try (channel) {
            channel.connect(UnixDomainSocketAddress.of(socket()));
            answer = pool.submit(() -> {
                new Envelope.Request(Map.of(EnvelopeHandler.ADMIN_ENV, command), new byte[0])
                        .write(Channels.newOutputStream(channel));
                return Envelope.Response.read(Channels.newInputStream(channel));
            });
            Envelope.Response response = answer.get(limit.toMillis(), TimeUnit.MILLISECONDS);
            if (response.exitCode() != 0)
                throw new IOException("admin " + command + " answered " + response.exitCode());
            return NetConf.JSON.readTree(response.stdout());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        } catch (java.util.concurrent.ExecutionException | TimeoutException e) {
            throw new IOException("admin " + command + ": " + e, e);
        }
    }

    /** Polls the journal until no intent is pending (every record ALLOCATED). */
    /**
     * Waits until the daemon has settled what the runs left: no pending intent, and no pool
     * beyond its target (a pool grows past it when DELs give addresses back while a kill or an
     * outage kept the keeper from releasing the surplus; the keeper's next pass releases it, and
     * a daemon stopped before that pass leaves it to the next start).
     */
    private JsonNode awaitSettledJournal(Duration limit, int poolSize, Stats stats) throws IOException {
        long deadline = System.nanoTime() + limit.toNanos();
        JsonNode journal;
        while (true) {
            journal = admin("journal", Duration.ofSeconds(10));
            List<String> pending = new ArrayList<>();
            Set<String> held = new HashSet<>();
            for (JsonNode record : journal) {
                String state = record.path("state").asText();
                if (!"POOL".equals(state)) held.add(record.path("address").asText());
                if (!"ALLOCATED".equals(state) && !"POOL".equals(state)) {
                    pending.add(record.path("containerId").asText() + ":"
                            + record.path("state").asText() + "("
                            + record.path("lastError").asText() + ")");
                }
            }
            long free = 0;
            for (JsonNode record : journal) {
                if ("POOL".equals(record.path("state").asText())
                        && !held.contains(record.path("address").asText())) free++;
            }
            if (free > poolSize) pending.add("pool: " + free + " free addresses, target " + poolSize);
            if (pending.isEmpty()) return journal;
            if (System.nanoTime() > deadline) {
                stats.problems.add("journal still holds " + pending.size() + " pending intent(s) after "
                        + limit.toSeconds() + " s: " + pending);
                return journal;
            }
            sleep(500);
        }
    }

    /** The configuration the daemon ran with, for the offline audit (its --pool-size: the netconf's, as the daemon was asked). */
    private DaemonConfig offlineConfig(int poolSize) {
        WapiConfig wapi = new WapiConfig(
                "127.0.0.1",
                grid.port(),
                "2.5",
                TestHost.USER,
                TestHost.PASSWORD,
                new SslVerify.System(),
                false,
                Duration.ofSeconds(5),
                Duration.ofSeconds(2),
                Duration.ofSeconds(2),
                0,
                0);
        return DaemonConfig.builder()
                .wapi(wapi)
                .socketDir(runDir)
                .stateDir(stateDir)
                .cniCacheDir(cacheDir)
                .hostId(HOST_ID)
                .poolSize(poolSize)
                .build();
    }

    // ------------------------------------------------------------------------- the truth

    record Truth(int duplicates, int leaks, int lost, int containerReservations) {}

    private Truth checkGrid(Model model, Stats stats) {
        List<Map<String, Object>> reservations = grid.objects("fixedaddress");
        Map<String, List<Map<String, Object>>> byAddress = new TreeMap<>();
        Map<String, List<Map<String, Object>>> byContainer = new TreeMap<>();
        for (Map<String, Object> r : reservations) {
            byAddress
                    .computeIfAbsent(String.valueOf(r.get("ipv4addr")), k -> new ArrayList<>())
                    .add(r);
            String vm = TestHost.ea(r, ReservationTags.VM_ID);
            if (vm != null && !vm.equals(ReservationTags.NO_CONTAINER))
                byContainer.computeIfAbsent(vm, k -> new ArrayList<>()).add(r);
        }
        int duplicates = 0;
        for (var e : byAddress.entrySet()) {
            if (e.getValue().size() > 1) {
                duplicates++;
                stats.problems.add("DUPLICATE: address " + e.getKey() + " reserved "
                        + e.getValue().size() + " times: " + describe(e.getValue()));
            }
        }
        for (var e : byContainer.entrySet()) {
            if (e.getValue().size() > 1) {
                duplicates++;
                Container c = model.get(e.getKey());
                stats.problems.add("DUPLICATE: container " + e.getKey() + " holds "
                        + e.getValue().size() + " reservations: " + describe(e.getValue()) + " history "
                        + (c == null ? "(unknown)" : history(c, model)));
            }
        }
        int lost = 0;
        int leaks = 0;
        for (Container c : model.all()) {
            List<Map<String, Object>> held = byContainer.getOrDefault(c.id, List.of());
            if (c.add == Outcome.OK && !c.delOk) {
                boolean right = held.size() == 1
                        && c.address != null
                        && c.address.equals(held.getFirst().get("ipv4addr"))
                        && String.valueOf(held.getFirst().get("comment"))
                                .startsWith("infoblox-cni host=" + HOST_ID + " net=" + NETWORK + " if=eth0");
                if (!right) {
                    lost++;
                    stats.problems.add("LOST: container " + c.id + " was answered " + c.address
                            + " and never released, the grid holds " + describe(held) + " history "
                            + history(c, model));
                }
            } else if (!held.isEmpty()) {
                leaks++;
                stats.problems.add("LEAK: container " + c.id + (c.delOk ? " was DELeted" : " never got a DEL through")
                        + " but the grid holds " + describe(held) + " history " + history(c, model));
            }
            if (c.needsDel())
                stats.problems.add("container " + c.id + " is still owed a DEL at the end: " + history(c, model));
        }
        for (String vm : byContainer.keySet()) {
            if (model.get(vm) == null) {
                leaks++;
                stats.problems.add("LEAK: reservation for container " + vm + " that the runtime never created: "
                        + describe(byContainer.get(vm)));
            }
        }
        return new Truth(
                duplicates,
                leaks,
                lost,
                byContainer.values().stream().mapToInt(List::size).sum());
    }

    private static String describe(List<Map<String, Object>> reservations) {
        if (reservations.isEmpty()) return "nothing";
        List<String> out = new ArrayList<>();
        for (Map<String, Object> r : reservations) {
            out.add(r.get("ipv4addr") + " (VM ID " + TestHost.ea(r, ReservationTags.VM_ID) + ", " + r.get("comment")
                    + ", " + r.get("_ref") + ")");
        }
        return out.toString();
    }

    private static String history(Container c, Model model) {
        synchronized (model) {
            return c.history.toString();
        }
    }

    // -------------------------------------------------------------------------- helpers

    private static String tail(Path file) {
        try {
            List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
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
        System.out.println(line);
        System.out.flush();
    }
}
