package infobloxcni.bench;

import infobloxcni.wapisim.WapiSimulator;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The daemon's own time and WAPI calls per ADD and per DEL, each call made straight over the
 * socket to an idle daemon (no plugin; as a container that lives a while sees it). Before each
 * call the daemon is let go quiet and the simulator's counters are zeroed. The calls the
 * simulator has <em>answered</em> by the time the daemon answers are the ones on the request's
 * path: counted only with a grid latency of {@value #MIN_LATENCY_FOR_PATH_MS} ms or more, where a
 * background call the request started cannot have been answered yet. Once the daemon is quiet
 * again, the count is the call's cost in all, background tags, returns and refills included.
 *
 * <p>The pool is back at its target before each DEL, so a probed DEL releases the address; a DEL
 * that finds the pool below its target (back-to-back pairs, as in the soak) returns it to the pool
 * instead.
 */
record Probe(
        String network,
        int poolSize,
        int gridLatencyMs,
        int pairs,
        Summary add,
        Summary del,
        Double addOnPath,
        double addInAll,
        Double delOnPath,
        double delInAll,
        Map<String, Double> addOnPathCalls,
        Map<String, Double> addInAllCalls,
        Map<String, Double> delOnPathCalls,
        Map<String, Double> delInAllCalls) {

    static final int MIN_LATENCY_FOR_PATH_MS = 20;

    static Probe run(
            WapiSimulator grid,
            LaunchedDaemon daemon,
            Runs runs,
            Runs.Caller socket,
            String network,
            int poolSize,
            int pairs,
            int gridLatencyMs)
            throws InterruptedException {
        Tally add = new Tally(), del = new Tally();
        for (int i = 0; i < pairs; i++) {
            String id = runs.newId();
            add.measure(grid, daemon, () -> socket.call("ADD", id));
            del.measure(grid, daemon, () -> socket.call("DEL", id));
        }
        boolean path = gridLatencyMs >= MIN_LATENCY_FOR_PATH_MS;
        return new Probe(
                network,
                poolSize,
                gridLatencyMs,
                pairs,
                Summary.ofNanos(add.nanos),
                Summary.ofNanos(del.nanos),
                path ? perCall(add.onPath, pairs) : null,
                perCall(add.inAll, pairs),
                path ? perCall(del.onPath, pairs) : null,
                perCall(del.inAll, pairs),
                path ? perCall(add.onPathByType, pairs) : Map.of(),
                perCall(add.inAllByType, pairs),
                path ? perCall(del.onPathByType, pairs) : Map.of(),
                perCall(del.inAllByType, pairs));
    }

    /** The same figures as a row of the runs table. */
    Runs.Run asRun() {
        return new Runs.Run(
                "socket, idle",
                gridLatencyMs,
                1,
                poolSize,
                pairs,
                add,
                del,
                null,
                null,
                null,
                null,
                null,
                Summary.round(addInAll + delInAll, 3),
                Map.of(),
                0,
                null);
    }

    private static final class Tally {
        final List<Long> nanos = new ArrayList<>();
        long onPath, inAll;
        final Map<String, Long> onPathByType = new TreeMap<>(), inAllByType = new TreeMap<>();

        void measure(WapiSimulator grid, LaunchedDaemon daemon, Runs.Timed call) throws InterruptedException {
            daemon.awaitQuiet(grid);
            grid.resetCounters();
            nanos.add(call.run());
            List<String> answered = grid.requestLog();
            onPath += answered.size();
            for (String line : answered) onPathByType.merge(typeOf(line), 1L, Long::sum);
            daemon.awaitQuiet(grid);
            inAll += grid.totalRequests();
            grid.requestCounts().forEach((type, n) -> inAllByType.merge(type, n, Long::sum));
        }
    }

    private static double perCall(long n, int pairs) {
        return Summary.round(n / (double) pairs, 2);
    }

    private static Map<String, Double> perCall(Map<String, Long> byType, int pairs) {
        Map<String, Double> out = new TreeMap<>();
        byType.forEach((k, v) -> out.put(k, perCall(v, pairs)));
        return out;
    }

    /** "PUT /wapi/v2.5/fixedaddress/ZG5z...?x=y -> 200" is "PUT fixedaddress", as the simulator's counters name it. */
    static String typeOf(String logLine) {
        String[] parts = logLine.split(" ", 3);
        String path = parts.length > 1 ? parts[1] : "";
        int q = path.indexOf('?');
        if (q >= 0) path = path.substring(0, q);
        String[] segments = path.split("/"); // "", "wapi", "v2.5", type, ...
        return parts[0] + " " + (segments.length > 3 ? segments[3] : path);
    }
}
