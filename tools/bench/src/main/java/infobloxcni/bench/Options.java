package infobloxcni.bench;

import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import com.fasterxml.jackson.databind.ser.std.ToStringSerializer;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;

/** The command line of bin/infoblox-cni-bench; {@link #USAGE} says what each option means. */
record Options(
        int pairs,
        List<Integer> callers,
        List<Integer> latenciesMs,
        int poolSize,
        int baselineCalls,
        int probePairs,
        int soakPairs,
        int soakCallers,
        @JsonSerialize(using = ToStringSerializer.class) Path out,
        boolean keep) {

    static final String USAGE = """
            usage: bin/infoblox-cni-bench [options]
              --pairs N            ADD+DEL pairs per plugin run, shared among the callers (default 60)
              --callers LIST       concurrent callers of the plugin runs, comma list (default 1,8)
              --latencies LIST     grid latency per WAPI call in ms, one simulator and daemon each (default 0,30)
              --pool-size N        ipam.pool-size of the bench network (default 8); one row always runs with 0
              --baseline-calls N   calls of each baseline kind, in blocks of 10 (default 40)
              --probe-pairs N      pairs straight over the socket to an idle daemon, per network (default 20);
                                   they also count the WAPI calls on the request's path (at 20 ms or more)
              --soak-pairs N       pairs straight over the socket before the last RSS reading; 0 skips (default 10000)
              --soak-callers N     concurrent callers of the soak (default 8)
              --out FILE           JSON results (default tools/bench/target/infoblox-cni-bench-<time>.json)
              --keep               keep the work directory (daemon logs, journals) and say where it is
            """;

    static Options parse(String[] args, Path root) {
        int pairs = 60, poolSize = 8, baseline = 40, probe = 20, soak = 10_000, soakCallers = 8;
        List<Integer> callers = List.of(1, 8), latencies = List.of(0, 30);
        Path out = null;
        boolean keep = false;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--pairs" -> pairs = positive(a, value(args, ++i, a));
                case "--callers" -> callers = list(a, value(args, ++i, a), 1);
                case "--latencies" -> latencies = list(a, value(args, ++i, a), 0);
                case "--pool-size" -> poolSize = number(a, value(args, ++i, a), 1, 64);
                case "--baseline-calls" -> baseline = number(a, value(args, ++i, a), 0, 100_000);
                case "--probe-pairs" -> probe = number(a, value(args, ++i, a), 0, 10_000);
                case "--soak-pairs" -> soak = number(a, value(args, ++i, a), 0, 10_000_000);
                case "--soak-callers" -> soakCallers = positive(a, value(args, ++i, a));
                case "--out" -> out = Path.of(value(args, ++i, a));
                case "--keep" -> keep = true;
                case "-h", "--help" -> throw new Usage(null);
                default -> throw new Usage("unknown option " + a);
            }
        }
        if (out == null) {
            out = root.resolve("tools/bench/target/infoblox-cni-bench-"
                    + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")) + ".json");
        }
        return new Options(pairs, callers, latencies, poolSize, baseline, probe, soak, soakCallers, out, keep);
    }

    /** A bad command line (message) or --help (null). */
    static final class Usage extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Usage(String message) {
            super(message);
        }
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) throw new Usage(option + " needs a value");
        return args[i];
    }

    private static int positive(String option, String v) {
        return number(option, v, 1, Integer.MAX_VALUE);
    }

    private static int number(String option, String v, int min, int max) {
        try {
            int n = Integer.parseInt(v.trim());
            if (n < min || n > max) throw new Usage(option + " must be from " + min + " to " + max + ", not " + v);
            return n;
        } catch (NumberFormatException e) {
            throw new Usage(option + " takes a number, not " + v);
        }
    }

    private static List<Integer> list(String option, String v, int min) {
        List<Integer> out = new ArrayList<>();
        for (String s : v.split(",")) out.add(number(option, s, min, 100_000));
        if (out.isEmpty()) throw new Usage(option + " needs at least one value");
        return List.copyOf(out);
    }
}
