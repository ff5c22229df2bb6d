package infobloxcni.daemon;

import infobloxcni.wapisim.WapiSimulator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The daemon's own speed, without plugin start-up: requests go over the real socket in the real
 * envelope to a daemon in this JVM, against the simulator with a configurable grid latency.
 * Not a test (nothing asserts timings); run it with bin/bench. Prints a Markdown table.
 *
 * <p>Arguments: [grid latency ms, default 0] [requests, default 400] [threads, default 16]
 */
public final class DaemonBenchmark {
    public static void main(String[] args) throws Exception {
        int latencyMs = args.length > 0 ? Integer.parseInt(args[0]) : 0;
        int n = args.length > 1 ? Integer.parseInt(args[1]) : 400;
        int threads = args.length > 2 ? Integer.parseInt(args[2]) : 16;
        DaemonMain.configureLogging(java.util.logging.Level.WARNING);
        Path dir = Files.createTempDirectory("ibcni-bench");
        String conf = TestHost.netconf("1.0.0", "bench", "\"subnet\":\"10.128.0.0/16\"");
        try (WapiSimulator grid = TestHost.startGrid(); TestHost host = new TestHost(grid, dir, "bench-host")) {
            host.start(host.config(Duration.ofSeconds(10)));
            for (int i = 0; i < 50; i++) host.call("ADD", "warm" + i, "eth0", conf);
            for (int i = 0; i < 50; i++) host.call("DEL", "warm" + i, "eth0", conf);
            grid.faults().latency(Duration.ofMillis(latencyMs));

            grid.resetCounters();
            List<Long> add = new ArrayList<>(), del = new ArrayList<>(), repeat = new ArrayList<>();
            for (int i = 0; i < n; i++) add.add(timed(host, "ADD", "s" + i, conf));
            long addCalls = grid.totalRequests();
            for (int i = 0; i < n; i++) repeat.add(timed(host, "ADD", "s" + i, conf));
            grid.resetCounters();
            for (int i = 0; i < n; i++) del.add(timed(host, "DEL", "s" + i, conf));
            long delCalls = grid.totalRequests();

            ExecutorService pool = Executors.newFixedThreadPool(threads);
            long started = System.nanoTime();
            List<Future<Long>> futures = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                String id = "c" + i;
                futures.add(pool.submit(() -> timed(host, "ADD", id, conf)));
            }
            List<Long> concurrent = new ArrayList<>();
            for (Future<Long> f : futures) concurrent.add(f.get());
            double seconds = (System.nanoTime() - started) / 1e9;
            pool.shutdown();

            System.out.printf("grid latency %d ms, %d requests, %d threads, %d cores%n%n", latencyMs, n, threads,
                    Runtime.getRuntime().availableProcessors());
            System.out.println("| measure | p50 ms | p90 ms | p99 ms | WAPI calls each |");
            System.out.println("|---|---|---|---|---|");
            row("ADD, warm, sequential", add, (double) addCalls / n);
            row("ADD repeated (journal answers)", repeat, 0);
            row("DEL, sequential", del, (double) delCalls / n);
            row("ADD, " + threads + " at once", concurrent, Double.NaN);
            System.out.printf("%nconcurrent ADD throughput: %.0f per second%n", n / seconds);
        }
        TestHost.deleteTree(dir);
    }

    private static long timed(TestHost host, String command, String id, String conf) {
        long t = System.nanoTime();
        var answer = host.call(command, id, "eth0", conf);
        if (!answer.ok()) throw new IllegalStateException(command + " " + id + ": " + answer);
        return System.nanoTime() - t;
    }

    private static void row(String what, List<Long> nanos, double calls) {
        List<Long> sorted = new ArrayList<>(nanos);
        Collections.sort(sorted);
        System.out.printf("| %s | %.2f | %.2f | %.2f | %s |%n", what, pct(sorted, 50), pct(sorted, 90), pct(sorted, 99),
                Double.isNaN(calls) ? "-" : String.format("%.2f", calls));
    }

    private static double pct(List<Long> sorted, int p) {
        return sorted.get(Math.min(sorted.size() - 1, sorted.size() * p / 100)) / 1e6;
    }
}
