package infobloxcni.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The performance targets (issue 10), each checked against this run's figures: what was
 * measured, the limit, and by how much it is met or missed. Only figures of this run, so that a
 * ratio's two sides share the machine's load. A target whose figures this run did not take (a
 * baseline, latency or soak left out by the options) is not listed.
 */
final class Targets {
    private Targets() {}

    /**
     * One target. {@code margin} is measured/limit (for "at most" targets; below 1 is met) or, for
     * a limit of 0, the measured value itself.
     */
    record Target(String name, double measured, double limit, String unit, boolean met, double margin) {
        static Target atMost(String name, double measured, double limit, String unit) {
            return new Target(
                    name,
                    Summary.round(measured, 3),
                    limit,
                    unit,
                    measured <= limit,
                    Summary.round(limit == 0 ? measured : measured / limit, 3));
        }
    }

    static List<Target> check(
            List<Baselines.Baseline> baselines,
            Map<String, Double> ratios,
            List<Runs.Run> runs,
            List<Probe> probes,
            List<BenchMain.DaemonFigures> daemons) {
        List<Target> out = new ArrayList<>();
        Double wall = ratios.get("plugin repeated ADD p50 / floor p50 (wall)"),
                cpu = ratios.get("plugin repeated ADD / floor (CPU per call)");
        if (wall != null) out.add(Target.atMost("plugin repeated ADD / floor client, wall p50", wall, 1.1, "x"));
        if (cpu != null) out.add(Target.atMost("plugin repeated ADD / floor client, CPU per call", cpu, 1.1, "x"));
        for (String via : List.of("plugin", "socket, idle")) {
            Runs.Run fast = find(runs, via, 0, 1), slow = find(runs, via, 30, 1);
            if (fast != null && slow != null) {
                out.add(Target.atMost(
                        "fresh ADD with the pool, grid 30 ms / 0 ms, p50 (" + via + ", 1 caller)",
                        slow.add().p50() / fast.add().p50(),
                        1.2,
                        "x"));
            }
        }
        for (Probe p : probes) {
            if (p.poolSize() == 0 || p.addOnPath() == null) continue;
            out.add(Target.atMost(
                    "WAPI calls on an ADD's path, pool " + p.poolSize() + ", grid " + p.gridLatencyMs() + " ms",
                    p.addOnPath(),
                    0,
                    "calls"));
            out.add(Target.atMost(
                    "WAPI calls on a DEL's path, pool " + p.poolSize() + ", grid " + p.gridLatencyMs() + " ms",
                    p.delOnPath(),
                    0,
                    "calls"));
        }
        for (BenchMain.DaemonFigures d : daemons) {
            out.add(Target.atMost(
                    "daemon exec to first ADD answered, grid " + d.gridLatencyMs() + " ms",
                    d.execToFirstAddMs(),
                    400,
                    "ms"));
            if (d.afterSoak() != null) {
                out.add(Target.atMost(
                        "daemon RSS after " + String.format("%,d", d.soakPairs()) + " ADD/DEL pairs",
                        d.afterSoak().rssMiB(),
                        64,
                        "MiB"));
            }
        }
        return out;
    }

    /** The pooled run of {@code via} at that latency and caller count. */
    private static Runs.Run find(List<Runs.Run> runs, String via, int latency, int callers) {
        for (Runs.Run r : runs) {
            if (r.via().equals(via) && r.gridLatencyMs() == latency && r.callers() == callers && r.poolSize() > 0)
                return r;
        }
        return null;
    }
}
