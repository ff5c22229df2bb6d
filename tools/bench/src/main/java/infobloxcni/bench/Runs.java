package infobloxcni.bench;

import infobloxcni.wapisim.WapiSimulator;
import infobloxcni.wire.Envelope;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Drives ADD+DEL pairs against one daemon, through the plugin or straight over the socket, with
 * a number of concurrent callers, and measures one run: latencies, pairs per second, the plugin's
 * CPU, the daemon's CPU, and the simulator's WAPI calls counted after the daemon has gone quiet
 * (so background tags, returns and refills the run caused are included).
 */
final class Runs {
    /** How one call is made: answers its wall time in nanoseconds, or throws {@link CallFailed}. */
    interface Caller {
        long call(String command, String containerId);
    }

    /** One timed call: answers its wall time in nanoseconds. */
    interface Timed {
        long run();
    }

    static final class CallFailed extends RuntimeException {
        private static final long serialVersionUID = 1L;

        CallFailed(String message) {
            super(message);
        }
    }

    /**
     * One row of the results. CPU and WAPI figures are per call or per pair as named;
     * {@code pluginCpuBoundPairsPerSecond} is what the plugins' own CPU allows on this machine's
     * cores (two calls a pair), whatever else ran; {@code daemonCpuMsPerPairByThread}, the daemon's
     * CPU by thread name (the largest first; threads that ended during the run are missing). Null where a figure does not apply (no plugin;
     * pairs per second and daemon CPU of the idle-daemon rows, whose waits and status polls would
     * be counted).
     */
    record Run(
            String via,
            int gridLatencyMs,
            int callers,
            int poolSize,
            int pairs,
            Summary add,
            Summary del,
            Double pairsPerSecond,
            Double pluginCpuMsPerCall,
            Double pluginCpuBoundPairsPerSecond,
            Double daemonCpuMsPerPair,
            Map<String, Double> daemonCpuMsPerPairByThread,
            double wapiCallsPerPair,
            Map<String, Long> wapiCalls,
            int errors,
            String firstError) {}

    private final WapiSimulator grid;
    private final LaunchedDaemon daemon;
    private final Cni cni;
    private final int gridLatencyMs;
    private final AtomicInteger ids = new AtomicInteger();

    Runs(WapiSimulator grid, LaunchedDaemon daemon, Cni cni, int gridLatencyMs) {
        this.grid = grid;
        this.daemon = daemon;
        this.cni = cni;
        this.gridLatencyMs = gridLatencyMs;
    }

    /** A fresh container ID (CNI allows letters, digits, '-', '_', '.'). */
    String newId() {
        return "bench-" + gridLatencyMs + "ms-" + ids.incrementAndGet();
    }

    Caller viaPlugin(Path netconf) {
        return (command, id) -> {
            Command.Result r = cni.plugin(command, id, netconf).run();
            check(command, id, r.exit(), r.stdout());
            return r.nanos();
        };
    }

    Caller viaSocket(Path netconf) {
        String conf = Procs.read(netconf);
        return (command, id) -> {
            long started = System.nanoTime();
            Envelope.Response r = daemon.send(Cni.env(command, id), conf);
            long nanos = System.nanoTime() - started;
            check(command, id, r.exitCode(), new String(r.stdout(), StandardCharsets.UTF_8));
            return nanos;
        };
    }

    static void check(String command, String id, int exit, String stdout) {
        if (exit != 0 || (command.equals("ADD") && !stdout.contains("\"ips\""))) {
            throw new CallFailed(command + " " + id + " exited " + exit + ": " + stdout.strip());
        }
    }

    /** Pairs without measuring: warms the daemon's JIT and fills the pool. */
    void warmUp(Caller caller, int pairs) {
        for (int i = 0; i < pairs; i++) {
            String id = newId();
            caller.call("ADD", id);
            caller.call("DEL", id);
        }
    }

    /**
     * {@code pairs} ADD+DEL pairs (each caller ADDs a new container, then DELs it), shared among
     * {@code callers} threads. Starts and ends with the daemon quiet.
     */
    Run pairs(String via, int poolSize, int callers, int pairs, Caller caller, boolean countPluginCpu)
            throws InterruptedException {
        daemon.awaitQuiet(grid);
        List<Long> adds = Collections.synchronizedList(new ArrayList<>());
        List<Long> dels = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger left = new AtomicInteger(pairs), errors = new AtomicInteger();
        AtomicReference<String> firstError = new AtomicReference<>();
        Map<String, Long> countsBefore = grid.requestCounts();
        Map<String, Long> threadCpuBefore = daemon.cpuNanosByThread();
        long wapiBefore = grid.totalRequests(),
                daemonCpuBefore = daemon.cpuNanos(),
                childCpuBefore = Procs.childrenCpuNanos();
        long started = System.nanoTime();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < callers; t++) {
            threads.add(Thread.ofPlatform().name("caller-" + t).start(() -> {
                while (left.getAndDecrement() > 0) {
                    String id = newId();
                    try {
                        adds.add(caller.call("ADD", id));
                        dels.add(caller.call("DEL", id));
                    } catch (CallFailed e) {
                        errors.incrementAndGet();
                        firstError.compareAndSet(null, e.getMessage());
                    }
                }
            }));
        }
        for (Thread t : threads) t.join();
        double seconds = (System.nanoTime() - started) / 1e9;
        long childCpu = Procs.childrenCpuNanos() - childCpuBefore;
        daemon.awaitQuiet(grid);
        long wapi = grid.totalRequests() - wapiBefore;
        long daemonCpu = daemon.cpuNanos() - daemonCpuBefore;
        Map<String, Double> byThread = perPairByThread(threadCpuBefore, daemon.cpuNanosByThread(), pairs);
        int calls = adds.size() + dels.size();
        Double pluginCpu = countPluginCpu ? Summary.round(childCpu / 1e6 / Math.max(1, calls), 2) : null;
        Double bound = pluginCpu == null
                ? null
                : Summary.round(Runtime.getRuntime().availableProcessors() * 1000.0 / (2 * pluginCpu), 1);
        return new Run(
                via,
                gridLatencyMs,
                callers,
                poolSize,
                pairs,
                Summary.ofNanos(adds),
                Summary.ofNanos(dels),
                Summary.round((pairs - errors.get()) / seconds, 2),
                pluginCpu,
                bound,
                Summary.round(daemonCpu / 1e6 / pairs, 2),
                byThread,
                Summary.round((double) wapi / pairs, 3),
                delta(countsBefore, grid.requestCounts()),
                errors.get(),
                firstError.get());
    }

    /** The growth of each thread group's CPU, in ms per pair, largest first, groups under 0.01 ms left out. */
    private static Map<String, Double> perPairByThread(Map<String, Long> before, Map<String, Long> after, int pairs) {
        Map<String, Double> out = new LinkedHashMap<>();
        after.entrySet().stream()
                .map(e -> Map.entry(
                        e.getKey(),
                        Summary.round((e.getValue() - before.getOrDefault(e.getKey(), 0L)) / 1e6 / pairs, 2)))
                .filter(e -> e.getValue() >= 0.01)
                .sorted(Map.Entry.<String, Double>comparingByValue().reversed())
                .forEach(e -> out.put(e.getKey(), e.getValue()));
        return out;
    }

    static Map<String, Long> delta(Map<String, Long> before, Map<String, Long> after) {
        Map<String, Long> out = new TreeMap<>();
        after.forEach((k, v) -> {
            long d = v - before.getOrDefault(k, 0L);
            if (d != 0) out.put(k, d);
        });
        return out;
    }
}
