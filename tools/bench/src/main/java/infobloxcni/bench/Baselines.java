package infobloxcni.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the plugin is compared with, measured in the same run and interleaved with it: the
 * kinds take turns in blocks of ten calls (the order rotating each round), so that a change in
 * the machine's load falls on all of them alike. CPU is the growth of the bench's children's
 * CPU over each block, which is fine-grained enough at ten calls a block.
 */
final class Baselines {
    static final int BLOCK = 10;

    /** One row: a kind of call, its wall times, and the CPU (user+sys) of its processes per call. */
    record Baseline(String name, Summary wall, double cpuMsPerCall) {}

    /** One step of a kind: makes its calls and answers their wall times, one per series. */
    interface Step {
        long[] run();
    }

    private record Kind(String[] series, Step step, List<List<Long>> walls, long[] cpuAndCalls) {
        Kind(String[] series, Step step) {
            this(series, step, new ArrayList<>(), new long[2]);
            for (String ignored : series) walls.add(new ArrayList<>());
        }
    }

    private final List<Kind> kinds = new ArrayList<>();

    /** A kind whose step makes one call per series name (e.g. "ADD" then "DEL"). */
    Baselines add(Step step, String... series) {
        kinds.add(new Kind(series, step));
        return this;
    }

    /** At least {@code calls} calls of every kind. */
    List<Baseline> run(int calls) {
        int rounds = Math.max(1, (calls + BLOCK - 1) / BLOCK);
        for (int round = 0; round < rounds; round++) {
            for (int k = 0; k < kinds.size(); k++) {
                Kind kind = kinds.get((round + k) % kinds.size());
                long cpuBefore = Procs.childrenCpuNanos();
                for (int i = 0; i < BLOCK; i++) {
                    long[] nanos = kind.step().run();
                    for (int s = 0; s < nanos.length; s++) kind.walls().get(s).add(nanos[s]);
                }
                kind.cpuAndCalls()[0] += Procs.childrenCpuNanos() - cpuBefore;
                kind.cpuAndCalls()[1] += (long) BLOCK * kind.series().length;
            }
        }
        List<Baseline> out = new ArrayList<>();
        for (Kind kind : kinds) {
            double cpu = Summary.round(kind.cpuAndCalls()[0] / 1e6 / kind.cpuAndCalls()[1], 2);
            for (int s = 0; s < kind.series().length; s++) {
                out.add(new Baseline(
                        kind.series()[s], Summary.ofNanos(kind.walls().get(s)), cpu));
            }
        }
        return out;
    }

    static Map<String, Baseline> byName(List<Baseline> rows) {
        Map<String, Baseline> out = new LinkedHashMap<>();
        for (Baseline b : rows) out.put(b.name(), b);
        return out;
    }
}
