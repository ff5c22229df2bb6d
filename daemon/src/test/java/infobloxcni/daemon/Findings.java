package infobloxcni.daemon;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * What one adversarial run found: how many times each invariant was checked, and each violation
 * once (a state that stays wrong is reported at the step it was first seen), with the seed, the
 * step, the step's kind, the grid object involved and the events that led there.
 */
final class Findings {
    static final String I1 = "1 (an ADD is answered only once the grid holds the address for that container)";
    static final String I2 = "2 (a live container's address stays held for it)";
    static final String I3 = "3 (nothing that is not ours is deleted or changed)";
    static final String I4 = "4 (no address is held by two live containers)";
    static final String I5 = "5 (after settling: no leak, nothing missing, a clean audit)";
    static final String I6 = "6 (an answered address is one the netconf allows: its subnet, its range, never excluded)";

    /** One violation: where it was seen, what is wrong, the grid object, and how it came about. */
    record Violation(
            long seed,
            int step,
            String stepKind,
            String invariant,
            String label,
            String subject,
            String what,
            String gridObject,
            List<String> history) {
        String describe() {
            return "seed " + seed + " step " + step + " (" + stepKind + "): invariant " + invariant + " violated for "
                    + subject + ": " + what + (gridObject == null ? "" : "\n      grid object: " + gridObject)
                    + (history.isEmpty() ? "" : "\n      history:\n        " + String.join("\n        ", history));
        }
    }

    private final long seed;
    private final Map<String, Integer> checks = new TreeMap<>();
    private final List<Violation> violations = new ArrayList<>();
    private final Set<String> seen = new java.util.HashSet<>();

    Findings(long seed) {
        this.seed = seed;
    }

    /** One check of an invariant was made. */
    synchronized void checked(String invariant) {
        checks.merge(invariant.substring(0, 1), 1, Integer::sum);
    }

    /**
     * A violation; {@code sameAs} says when two are one (the same wrong state seen again at a later
     * step, or by another invariant: an address answered before the grid held it, then still not
     * held after the step): only the first is kept.
     */
    synchronized void violation(
            int step,
            String stepKind,
            String invariant,
            String label,
            String subject,
            String sameAs,
            String what,
            String gridObject,
            List<String> history) {
        if (!seen.add(sameAs)) return;
        violations.add(new Violation(seed, step, stepKind, invariant, label, subject, what, gridObject, history));
    }

    synchronized List<Violation> violations() {
        return List.copyOf(violations);
    }

    synchronized Map<String, Integer> checks() {
        return Map.copyOf(checks);
    }

    /** Violations by what kind of wrong they are (a short label, invariant number first). */
    synchronized Map<String, Integer> byLabel() {
        Map<String, Integer> out = new TreeMap<>();
        for (Violation v : violations) out.merge(v.label(), 1, Integer::sum);
        return out;
    }

    /** Violations per invariant number. */
    synchronized Map<String, Integer> byInvariant() {
        Map<String, Integer> out = new TreeMap<>();
        for (Violation v : violations) out.merge(v.invariant().substring(0, 1), 1, Integer::sum);
        return out;
    }
}
