package infobloxcni.daemon;

import java.util.Map;
import java.util.TreeMap;

/** Counts by name (steps by kind, faults by kind, calls by verb and outcome), for a run's summary. */
final class Tally {
    private final Map<String, Integer> counts = new TreeMap<>();

    synchronized void add(String name) {
        counts.merge(name, 1, Integer::sum);
    }

    synchronized Map<String, Integer> counts() {
        return new TreeMap<>(counts);
    }

    synchronized int total() {
        return counts.values().stream().mapToInt(Integer::intValue).sum();
    }

    @Override
    public synchronized String toString() {
        return counts.toString();
    }
}
