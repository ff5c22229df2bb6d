package infobloxcni.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import infobloxcni.wapisim.WapiSimulator;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * {@code bin/infoblox-cni-bench}: the one benchmark command. For each grid latency it starts a
 * simulator in this JVM and a daemon as its own process (through {@code bin/infoblox-cni-daemon},
 * fresh journal), measures the daemon's start to its first ADD, then drives the real plugin (one
 * process per call, as a runtime does) with 1 and 8 concurrent callers, with the pool and without,
 * then the daemon alone, one call at a time straight over the socket ({@link Probe}: its own time
 * and the WAPI calls on the request's path); in the first session the baselines (host-local, the
 * floor client, {@code java -version}) run interleaved with the plugin, and the soak (10,000 pairs
 * over the socket) comes last. The daemon's RSS is read after the runs and after the soak. Prints
 * tables and writes every figure as JSON.
 *
 * <p>Nothing here is asserted: it is a measuring tool. Everything runs on loopback.
 */
public final class BenchMain {
    private static final int WARM_UP_PAIRS = 20;

    private static volatile LaunchedDaemon running;

    /** The start of one daemon and its memory, per grid latency. */
    record DaemonFigures(
            int gridLatencyMs,
            double execToSocketMs,
            double execToFirstAddMs,
            Procs.Memory afterFirstAdd,
            Procs.Memory afterRuns,
            Procs.Memory afterSoak,
            int soakPairs,
            Map<String, String> heldAfterSoak,
            String commandLine) {}

    record Report(
            String tool,
            String started,
            String finished,
            Map<String, Object> machine,
            String command,
            Options options,
            List<String> pluginJvmFlags,
            List<DaemonFigures> daemon,
            List<Runs.Run> runs,
            List<Probe> probes,
            List<Baselines.Baseline> baselines,
            Map<String, Double> ratios,
            List<Targets.Target> targets,
            List<String> notes) {}

    private BenchMain() {}

    public static void main(String[] args) throws Exception {
        Path root = Path.of(System.getProperty("infoblox.cni.root", "."))
                .toAbsolutePath()
                .normalize();
        Options options;
        try {
            options = Options.parse(args, root);
        } catch (Options.Usage u) {
            if (u.getMessage() != null) System.err.println("infoblox-cni-bench: " + u.getMessage());
            System.err.print(Options.USAGE);
            System.exit(u.getMessage() == null ? 0 : 2);
            return;
        }
        Logger.getLogger("").setLevel(Level.WARNING);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            LaunchedDaemon d = running;
            if (d != null) d.close();
        }));
        Path work = Files.createTempDirectory("infoblox-cni-bench.");
        int status;
        try {
            status = new BenchMain().run(root, work, options, String.join(" ", args));
        } finally {
            if (options.keep()) System.out.println("work directory kept: " + work);
            else deleteTree(work);
        }
        System.exit(status);
    }

    private final List<DaemonFigures> daemons = new ArrayList<>();
    private final List<Runs.Run> runs = new ArrayList<>();
    private final List<Probe> probes = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();
    private List<Baselines.Baseline> baselines = List.of();

    private int run(Path root, Path work, Options o, String argLine) throws Exception {
        requireFreshAotCache(root);
        String started = OffsetDateTime.now().withNano(0).toString();
        Cni cni = new Cni(root, work, o.poolSize());
        LoadWatch load = LoadWatch.start();
        Map<String, Object> machine = Machine.describe(cni.java);
        System.out.println("infoblox-cni-bench " + started + ": " + Machine.oneLine(machine));
        System.out.println("training the floor client's AOT cache ...");
        cni.prepare();
        for (int s = 0; s < o.latenciesMs().size(); s++) {
            session(
                    root,
                    work.resolve("grid-" + o.latenciesMs().get(s) + "ms"),
                    cni,
                    o,
                    o.latenciesMs().get(s),
                    s == 0);
        }
        machine.put("loadAverage1minRange", load.range());
        notes.addAll(0, notes(load, cni, o));
        Map<String, Double> ratios = ratios(baselines);
        Report report = new Report(
                "bin/infoblox-cni-bench",
                started,
                OffsetDateTime.now().withNano(0).toString(),
                machine,
                ("bin/infoblox-cni-bench " + argLine).strip(),
                o,
                cni.pluginJvmFlags,
                daemons,
                runs,
                probes,
                baselines,
                ratios,
                Targets.check(baselines, ratios, runs, probes, daemons),
                notes);
        Files.createDirectories(o.out().toAbsolutePath().getParent());
        new ObjectMapper()
                .enable(SerializationFeature.INDENT_OUTPUT)
                .writeValue(o.out().toFile(), report);
        System.out.println();
        Tables.print(report, System.out);
        System.out.println("\nJSON: " + o.out());
        long errors = runs.stream().mapToLong(Runs.Run::errors).sum();
        return errors == 0 ? 0 : 1;
    }

    /**
     * One grid latency: a fresh simulator and daemon; start to first ADD; warm-up; in the first
     * session the baselines; the plugin runs; the idle-daemon rows; RSS; in the first session the soak.
     */
    private void session(Path root, Path dir, Cni cni, Options o, int latency, boolean first) throws Exception {
        cni.useSocketDir(dir.resolve("run"));
        System.out.println(
                "== grid latency " + latency + " ms: simulator in this JVM, bin/infoblox-cni-daemon as a process");
        try (WapiSimulator grid = WapiSimulator.builder()
                .credentials("admin", LaunchedDaemon.PASSWORD)
                .build()
                .start()) {
            grid.faults().latency(Duration.ofMillis(latency));
            LaunchedDaemon daemon = LaunchedDaemon.start(root, dir, grid);
            running = daemon;
            try {
                double toSocket = Summary.round(daemon.awaitSocket(Duration.ofSeconds(60)) / 1e6, 1);
                double toFirstAdd = Summary.round(firstAdd(cni, daemon) / 1e6, 1);
                Procs.Memory afterFirstAdd = daemon.memory();
                System.out.printf(
                        "   daemon: socket after %.0f ms, first ADD through the plugin answered after %.0f ms%n",
                        toSocket, toFirstAdd);
                Runs r = new Runs(grid, daemon, cni, latency);
                Runs.Caller plugin = r.viaPlugin(cni.pooled), pluginNoPool = r.viaPlugin(cni.noPool);
                Runs.Caller socket = r.viaSocket(cni.pooled), socketNoPool = r.viaSocket(cni.noPool);
                plugin.call("DEL", "bench-first");
                r.warmUp(plugin, WARM_UP_PAIRS);
                r.warmUp(pluginNoPool, 5);
                r.warmUp(socket, 5 * WARM_UP_PAIRS);

                if (first) {
                    System.out.println("   baselines, interleaved with the plugin (grid 0 ms) ...");
                    grid.faults().latency(Duration.ZERO);
                    daemon.awaitQuiet(grid);
                    baselines = baselines(cni, r, daemon, o.baselineCalls());
                    grid.faults().latency(Duration.ofMillis(latency));
                }
                for (int callers : o.callers()) {
                    System.out.println("   plugin, pool " + o.poolSize() + ", " + callers + " caller(s) ...");
                    runs.add(r.pairs("plugin", o.poolSize(), callers, o.pairs(), plugin, true));
                }
                System.out.println("   plugin, no pool, 1 caller ...");
                runs.add(r.pairs("plugin", 0, 1, o.pairs(), pluginNoPool, true));
                if (o.probePairs() > 0) {
                    System.out.println("   socket (no plugin), one call at a time to an idle daemon ...");
                    for (Probe p : List.of(
                            Probe.run(grid, daemon, r, socket, Cni.NETWORK, o.poolSize(), o.probePairs(), latency),
                            Probe.run(
                                    grid, daemon, r, socketNoPool, Cni.NETWORK_NO_POOL, 0, o.probePairs(), latency))) {
                        probes.add(p);
                        runs.add(p.asRun());
                    }
                }
                daemon.awaitQuiet(grid);
                Procs.Memory afterRuns = daemon.memory();
                Procs.Memory afterSoak = null;
                Map<String, String> held = Map.of();
                if (first && o.soakPairs() > 0) {
                    System.out.println("   soak: " + o.soakPairs() + " pairs straight over the socket, "
                            + o.soakCallers() + " at once ...");
                    runs.add(r.pairs("socket soak", o.poolSize(), o.soakCallers(), o.soakPairs(), socket, false));
                    afterSoak = daemon.memory();
                    held = held(cni, daemon);
                }
                daemons.add(new DaemonFigures(
                        latency,
                        toSocket,
                        toFirstAdd,
                        afterFirstAdd,
                        afterRuns,
                        afterSoak,
                        afterSoak == null ? 0 : o.soakPairs(),
                        held,
                        daemon.commandLine()));
                notes.addAll(daemon.logWarnings(latency));
            } catch (RuntimeException e) {
                System.err.println(
                        "infoblox-cni-bench: " + e.getMessage() + "\n-- daemon log (last lines) --\n" + daemon.tail());
                throw e;
            } finally {
                daemon.close();
                running = null;
            }
        }
    }

    /**
     * What the daemon holds after the soak, in its own words (read after its RSS: the histogram
     * collects the heap first): heap use, the largest classes by heap, metaspace.
     */
    private static Map<String, String> held(Cni cni, LaunchedDaemon daemon) {
        Map<String, String> out = new LinkedHashMap<>();
        out.put("GC.heap_info", Procs.jcmd(cni.java, daemon.pid(), "GC.heap_info"));
        String histogram = Procs.jcmd(cni.java, daemon.pid(), "GC.class_histogram");
        out.put(
                "GC.class_histogram, first 25 lines and total",
                String.join("\n", histogram.lines().limit(25).toList()) + "\n...\n"
                        + histogram.lines().reduce((a, b) -> b).orElse(""));
        out.put("VM.metaspace basic", Procs.jcmd(cni.java, daemon.pid(), "VM.metaspace", "basic"));
        // only with -XX:NativeMemoryTracking=summary in INFOBLOX_CNI_DAEMON_JAVA_OPTS (it costs memory itself)
        if (daemon.commandLine().contains("NativeMemoryTracking")) {
            out.put("VM.native_memory summary", Procs.jcmd(cni.java, daemon.pid(), "VM.native_memory", "summary"));
        }
        return out;
    }

    /** Execs the plugin's first ADD as soon as the socket exists; nanoseconds from the daemon's exec to its answer. */
    private static long firstAdd(Cni cni, LaunchedDaemon daemon) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (true) {
            Command.Result r = cni.plugin("ADD", "bench-first", cni.firstAdd).run();
            if (r.ok()) return System.nanoTime() - daemon.startedNanos;
            if (System.nanoTime() > deadline)
                throw new IllegalStateException("no first ADD within 60 s: " + r.stdout());
            Thread.sleep(10);
        }
    }

    private static List<Baselines.Baseline> baselines(Cni cni, Runs r, LaunchedDaemon daemon, int calls) {
        if (calls == 0) return List.of();
        String repeated = "bench-repeat";
        r.viaPlugin(cni.pooled).call("ADD", repeated); // every further ADD of it is answered from the journal
        Baselines b = new Baselines()
                .add(
                        () -> {
                            String id = r.newId();
                            return new long[] {
                                timed(cni.plugin("ADD", id, cni.pooled)), timed(cni.plugin("DEL", id, cni.pooled))
                            };
                        },
                        "plugin ADD (from the pool)",
                        "plugin DEL")
                .add(
                        () -> new long[] {timed(cni.plugin("ADD", repeated, cni.pooled))},
                        "plugin repeated ADD (journal answers)")
                .add(
                        () -> new long[] {timed(cni.floor("ADD", repeated, cni.pooled, daemon.socket()))},
                        "floor client repeated ADD")
                .add(
                        () -> new long[] {timed(cni.pluginWithoutAot("ADD", repeated, cni.pooled))},
                        "plugin repeated ADD, no AOT cache")
                .add(
                        () -> new long[] {timed(cni.plugin("VERSION", repeated, cni.pooled))},
                        "plugin VERSION (no daemon call)")
                .add(() -> new long[] {timed(cni.javaVersion())}, "java -version (plugin's flags)")
                .add(() -> new long[] {timed(Cni.binTrue())}, "/bin/true (spawn cost)");
        if (Files.isExecutable(Cni.HOST_LOCAL)) {
            b.add(
                    () -> {
                        String id = r.newId();
                        return new long[] {timed(cni.hostLocal("ADD", id)), timed(cni.hostLocal("DEL", id))};
                    },
                    "host-local ADD",
                    "host-local DEL");
        }
        List<Baselines.Baseline> rows = b.run(calls);
        r.viaPlugin(cni.pooled).call("DEL", repeated);
        return rows;
    }

    private static long timed(Command command) {
        Command.Result r = command.run();
        String verb = command.env().getOrDefault("CNI_COMMAND", "");
        if (command.argv().getLast().equals("-version")) {
            if (!r.ok()) throw new Runs.CallFailed("java -version exited " + r.exit());
        } else if (!verb.isEmpty()) {
            Runs.check(verb, command.env().get("CNI_CONTAINERID"), r.exit(), r.stdout());
        }
        return r.nanos();
    }

    private static Map<String, Double> ratios(List<Baselines.Baseline> rows) {
        Map<String, Baselines.Baseline> b = Baselines.byName(rows);
        Map<String, Double> out = new LinkedHashMap<>();
        ratio(
                out,
                "plugin ADD p50 / host-local ADD p50",
                b.get("plugin ADD (from the pool)"),
                b.get("host-local ADD"),
                false);
        ratio(out, "plugin DEL p50 / host-local DEL p50", b.get("plugin DEL"), b.get("host-local DEL"), false);
        ratio(
                out,
                "plugin repeated ADD p50 / floor p50 (wall)",
                b.get("plugin repeated ADD (journal answers)"),
                b.get("floor client repeated ADD"),
                false);
        ratio(
                out,
                "plugin repeated ADD / floor (CPU per call)",
                b.get("plugin repeated ADD (journal answers)"),
                b.get("floor client repeated ADD"),
                true);
        ratio(
                out,
                "floor p50 / java -version p50",
                b.get("floor client repeated ADD"),
                b.get("java -version (plugin's flags)"),
                false);
        return out;
    }

    private static void ratio(
            Map<String, Double> out, String name, Baselines.Baseline a, Baselines.Baseline b, boolean cpu) {
        if (a == null || b == null) return;
        out.put(
                name,
                Summary.round(
                        cpu
                                ? a.cpuMsPerCall() / b.cpuMsPerCall()
                                : a.wall().p50() / b.wall().p50(),
                        3));
    }

    private static List<String> notes(LoadWatch load, Cni cni, Options o) throws IOException {
        List<String> notes = new ArrayList<>();
        notes.add("1-minute load average during the run: " + load.range() + " on "
                + Runtime.getRuntime().availableProcessors()
                + " cores (the simulator and this driver share them with the daemon and the plugins)");
        if (!Files.isExecutable(Cni.HOST_LOCAL)) {
            notes.add("host-local baseline skipped: " + Cni.HOST_LOCAL
                    + " is missing (apt-get install containernetworking-plugins)");
        }
        notes.add(
                "CNI_NETNS names no namespace, so the daemon reads no MAC (with one, an ADD costs ~5 ms more: nsenter)");
        notes.add("wall times include the JDK's process spawn, as the /bin/true baseline shows");
        notes.add(
                "percentiles are nearest-rank: below 100 samples p99 is the slowest call; raise --pairs for steadier tails");
        if (o.latenciesMs().stream().allMatch(l -> l < Probe.MIN_LATENCY_FOR_PATH_MS)) {
            notes.add("no grid latency of " + Probe.MIN_LATENCY_FOR_PATH_MS
                    + " ms or more: WAPI calls on the request's path not counted");
        }
        if (Files.exists(cni.stderr) && Files.size(cni.stderr) > 0) {
            List<String> lines = Files.readAllLines(cni.stderr);
            notes.add("the programs wrote " + lines.size() + " line(s) on stderr, first: " + lines.getFirst());
        }
        return notes;
    }

    /**
     * bin/infoblox and bin/infoblox-cni-daemon silently run without their AOT caches when a cache
     * is missing or older than the jar (the daemon's: or than a jar of its lib/).
     */
    private static void requireFreshAotCache(Path root) throws IOException {
        requireFresh(
                root.resolve("plugin/target/plugin.aot"),
                "bin/infoblox --train",
                root.resolve("plugin/target/plugin.jar"));
        List<Path> daemonJars = new ArrayList<>(List.of(root.resolve("daemon/target/daemon.jar")));
        try (var libs = Files.list(root.resolve("daemon/target/lib"))) {
            libs.filter(p -> p.toString().endsWith(".jar")).forEach(daemonJars::add);
        }
        requireFresh(
                root.resolve("daemon/target/daemon.aot"),
                "bin/infoblox-cni-daemon --train",
                daemonJars.toArray(Path[]::new));
    }

    private static void requireFresh(Path aot, String train, Path... jars) throws IOException {
        for (Path jar : jars) {
            if (!Files.exists(jar)
                    || !Files.exists(aot)
                    || Files.getLastModifiedTime(aot).compareTo(Files.getLastModifiedTime(jar)) <= 0) {
                throw new IllegalStateException(
                        aot + " is missing or older than " + jar + ": it would run without its AOT" + " cache; run "
                                + train + " (bin/infoblox-cni-bench does when it builds)");
            }
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (var walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
