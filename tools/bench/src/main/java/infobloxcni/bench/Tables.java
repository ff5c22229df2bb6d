package infobloxcni.bench;

import java.io.PrintStream;
import java.util.Map;

/** The report as plain-text tables (the JSON holds the same figures and more). */
final class Tables {
    private Tables() {}

    static void print(BenchMain.Report r, PrintStream out) {
        out.println(
                "Runs: wall ms per call; CPU = user+sys; WAPI/pair = the simulator's calls per pair, counted after the daemon went quiet");
        out.printf(
                "%5s %-12s %7s %4s %6s | %7s %7s %7s | %7s %7s %7s | %7s | %10s | %10s | %9s%n",
                "grid",
                "via",
                "callers",
                "pool",
                "pairs",
                "ADD p50",
                "p90",
                "p99",
                "DEL p50",
                "p90",
                "p99",
                "pairs/s",
                "plugin CPU",
                "daemon CPU",
                "WAPI/pair");
        out.printf(
                "%5s %-12s %7s %4s %6s | %23s | %23s | %7s | %10s | %10s | %9s%n",
                "ms", "", "", "", "", "", "", "", "ms/call", "ms/pair", "");
        for (Runs.Run run : r.runs()) {
            out.printf(
                    "%5d %-12s %7d %4d %6d | %7.1f %7.1f %7.1f | %7.1f %7.1f %7.1f | %7s | %10s | %10s | %9.2f%s%n",
                    run.gridLatencyMs(),
                    run.via(),
                    run.callers(),
                    run.poolSize(),
                    run.pairs(),
                    run.add().p50(),
                    run.add().p90(),
                    run.add().p99(),
                    run.del().p50(),
                    run.del().p90(),
                    run.del().p99(),
                    orDash(run.pairsPerSecond(), 1),
                    orDash(run.pluginCpuMsPerCall(), 1),
                    orDash(run.daemonCpuMsPerPair(), 2),
                    run.wapiCallsPerPair(),
                    run.errors() == 0 ? "" : "  ERRORS " + run.errors() + ", first: " + run.firstError());
        }
        for (Runs.Run run : r.runs()) {
            if (run.callers() > 1 && run.pluginCpuBoundPairsPerSecond() != null) {
                out.printf(
                        "  %d callers, grid %d ms: %.1f pairs/s; the plugins' own CPU (%.1f ms a call) allows at most %.1f on %d cores%n",
                        run.callers(),
                        run.gridLatencyMs(),
                        run.pairsPerSecond(),
                        run.pluginCpuMsPerCall(),
                        run.pluginCpuBoundPairsPerSecond(),
                        Runtime.getRuntime().availableProcessors());
            }
        }
        out.println("  daemon CPU by thread, ms per pair, largest four:");
        for (Runs.Run run : r.runs()) {
            if (run.daemonCpuMsPerPairByThread() == null) continue;
            StringBuilder top = new StringBuilder();
            run.daemonCpuMsPerPairByThread().entrySet().stream()
                    .limit(4)
                    .forEach(e -> top.append(top.isEmpty() ? "" : ", ")
                            .append(e.getKey().strip())
                            .append(String.format(" %.2f", e.getValue())));
            out.printf(
                    "    %2d ms %-12s %d caller(s), pool %d: %s%n",
                    run.gridLatencyMs(), run.via(), run.callers(), run.poolSize(), top);
        }
        latencyOnThePath(r, out);

        if (!r.probes().isEmpty()) {
            out.println();
            out.println(
                    "WAPI calls per ADD and per DEL (the idle-daemon rows: one call at a time over the socket; \"on path\":"
                            + " answered before the daemon answered, counted at " + Probe.MIN_LATENCY_FOR_PATH_MS
                            + " ms or more)");
            out.printf(
                    "%5s %-13s %4s | %11s %7s | %11s %7s%n",
                    "grid", "network", "pool", "ADD on path", "in all", "DEL on path", "in all");
            for (Probe p : r.probes()) {
                out.printf(
                        "%5d %-13s %4d | %11s %7.2f | %11s %7.2f%n",
                        p.gridLatencyMs(),
                        p.network(),
                        p.poolSize(),
                        orDash(p.addOnPath(), 2),
                        p.addInAll(),
                        orDash(p.delOnPath(), 2),
                        p.delInAll());
                if (p.addOnPath() != null) {
                    out.printf(
                            "      ADD on the path: %s; in all: %s%n",
                            calls(p.addOnPathCalls()), calls(p.addInAllCalls()));
                    out.printf(
                            "      DEL on the path: %s; in all: %s%n",
                            calls(p.delOnPathCalls()), calls(p.delInAllCalls()));
                }
            }
        }

        if (!r.baselines().isEmpty()) {
            out.println();
            out.println("Baselines, in the same run (grid 0 ms, interleaved in blocks of " + Baselines.BLOCK
                    + "; CPU of a pair's two rows is per call, both together)");
            out.printf("%-40s %4s %7s %7s %7s %9s%n", "", "n", "p50 ms", "p90", "p99", "CPU ms");
            for (Baselines.Baseline b : r.baselines()) {
                out.printf(
                        "%-40s %4d %7.1f %7.1f %7.1f %9.1f%n",
                        b.name(),
                        b.wall().n(),
                        b.wall().p50(),
                        b.wall().p90(),
                        b.wall().p99(),
                        b.cpuMsPerCall());
            }
            r.ratios().forEach((k, v) -> out.printf("  %-48s %6.2f%n", k, v));
        }

        out.println();
        out.println(
                "Daemon (bin/infoblox-cni-daemon as its own process, fresh journal and grid; MiB: VmRSS, peak = VmHWM)");
        out.printf(
                "%6s | %12s | %15s | %14s | %14s | %s%n",
                "grid", "exec->socket", "exec->first ADD", "RSS first ADD", "RSS after runs", "RSS after soak (peak)");
        for (BenchMain.DaemonFigures d : r.daemon()) {
            out.printf(
                    "%3d ms | %9.0f ms | %12.0f ms | %14.1f | %14.1f | %s%n",
                    d.gridLatencyMs(),
                    d.execToSocketMs(),
                    d.execToFirstAddMs(),
                    d.afterFirstAdd().rssMiB(),
                    d.afterRuns().rssMiB(),
                    d.afterSoak() == null
                            ? "-"
                            : String.format(
                                    "%.1f (%.1f) after %,d pairs",
                                    d.afterSoak().rssMiB(), d.afterSoak().peakMiB(), d.soakPairs()));
        }
        for (BenchMain.DaemonFigures d : r.daemon()) {
            Procs.Memory m = d.afterSoak() != null ? d.afterSoak() : d.afterRuns();
            out.printf(
                    "  %d ms, RSS %s: %.1f anonymous (heap, metaspace, code, stacks, JVM), %.1f file-backed (AOT cache, libjvm, jars)%n",
                    d.gridLatencyMs(),
                    d.afterSoak() != null ? "after the soak" : "after the runs",
                    m.anonMiB(),
                    m.fileMiB());
        }
        if (!r.targets().isEmpty()) {
            out.println();
            out.println(
                    "Targets (issue 10), this run: measured against the limit; margin = measured / limit (a limit of 0: the value)");
            for (Targets.Target t : r.targets()) {
                out.printf(
                        "  %-66s %9.2f %-5s at most %6.1f  %-6s %6.2f%n",
                        t.name(), t.measured(), t.unit(), t.limit(), t.met() ? "met" : "MISSED", t.margin());
            }
        }
        out.println();
        for (String note : r.notes()) out.println("note: " + note);
    }

    /**
     * With two grid latencies, how many round trips each call waited for: the difference of the
     * medians divided by the added latency; 0 means the latency is off the request's path. Only for
     * the idle-daemon rows (straight over the socket): through the plugin, the JVM's start-up noise on
     * a shared machine is larger than the signal.
     */
    private static void latencyOnThePath(BenchMain.Report r, PrintStream out) {
        boolean header = false;
        for (Runs.Run slow : r.runs()) {
            if (slow.gridLatencyMs() == 0 || !slow.via().equals("socket, idle")) continue;
            for (Runs.Run fast : r.runs()) {
                if (fast.gridLatencyMs() != 0
                        || !fast.via().equals(slow.via())
                        || fast.callers() != slow.callers()
                        || fast.poolSize() != slow.poolSize()) continue;
                if (!header) {
                    out.println();
                    out.println(
                            "Grid latency on the path: (p50 at L ms - p50 at 0 ms) / L, i.e. grid round trips a call waited for");
                    out.printf("%5s %-12s %7s %4s | %6s %6s%n", "L ms", "via", "callers", "pool", "ADD", "DEL");
                    header = true;
                }
                double l = slow.gridLatencyMs();
                out.printf(
                        "%5d %-12s %7d %4d | %6.2f %6.2f%n",
                        slow.gridLatencyMs(),
                        slow.via(),
                        slow.callers(),
                        slow.poolSize(),
                        (slow.add().p50() - fast.add().p50()) / l,
                        (slow.del().p50() - fast.del().p50()) / l);
            }
        }
    }

    private static String orDash(Double v, int digits) {
        return v == null ? "-" : String.format("%." + digits + "f", v);
    }

    private static String calls(Map<String, Double> byType) {
        if (byType.isEmpty()) return "none";
        StringBuilder sb = new StringBuilder();
        byType.forEach((k, v) -> sb.append(sb.isEmpty() ? "" : ", ").append(k).append(String.format(" %.2f", v)));
        return sb.toString();
    }
}
