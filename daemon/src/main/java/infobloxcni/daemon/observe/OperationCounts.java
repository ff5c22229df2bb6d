package infobloxcni.daemon.observe;

import infobloxcni.daemon.cni.CniRequest;
import java.util.EnumMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * CNI operations answered since the start, by verb, ok or not: for {@code status}, which an
 * operator reads without metrics turned on. Bounded whatever clients send: the CNI verbs and
 * {@value DaemonMetrics#INVALID_VERB}.
 */
public final class OperationCounts implements Operations {
    /** Answers of one verb: ok, and anything else (a CNI error). */
    public record Count(long ok, long errors) {}

    private final Map<CniRequest.Command, LongAdder[]> byVerb = new EnumMap<>(CniRequest.Command.class);
    private final LongAdder[] invalid = {new LongAdder(), new LongAdder()};

    public OperationCounts() {
        for (CniRequest.Command c : CniRequest.Command.values())
            byVerb.put(c, new LongAdder[] {new LongAdder(), new LongAdder()});
    }

    @Override
    public void answered(CniRequest.Command command, String outcome, long nanos) {
        (command == null ? invalid : byVerb.get(command))[outcome.equals("ok") ? 0 : 1].increment();
    }

    /** Each verb answered at least once, by name. */
    public Map<String, Count> snapshot() {
        Map<String, Count> out = new TreeMap<>();
        byVerb.forEach((verb, n) -> add(out, verb.name(), n));
        add(out, DaemonMetrics.INVALID_VERB, invalid);
        return out;
    }

    private static void add(Map<String, Count> out, String verb, LongAdder[] n) {
        Count c = new Count(n[0].sum(), n[1].sum());
        if (c.ok() + c.errors() > 0) out.put(verb, c);
    }
}
