package infobloxcni.daemon;

import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * A randomized adversarial test of the real daemon (a process of its own, so kill -9 is real)
 * against the WAPI simulator (in this JVM, loopback only). A seeded driver ({@link AdversarialRun})
 * takes a sequence of steps: runtime traffic on several containers at once (ADD, DEL, CHECK with
 * prevResult, GC with the valid attachments, repeated, early and foreign DELs; a share through the
 * real {@code bin/infoblox}; libcni cache entries written and removed, some left stale), and grid-
 * and host-side adversity ({@link Adversity}): operators deleting and re-reserving addresses,
 * foreign reservations with our VM IDs, writes applied then answered 5xx or never answered,
 * hung and refusing grids, kill -9, a lost journal, a subnet changed, the host renamed. After
 * every step, and after settling, it holds the grid, the runtime's model and the daemon's own
 * reports to the intended behaviour ({@link Invariants}, numbered as in {@link Findings}).
 *
 * <pre>
 *   -Dadversarial.seed=N[,M...]   the seeds (default: a fixed list)
 *   -Dadversarial.steps=N         steps per seed (default: a CI size, under ~3 min in all on a busy 2-core host)
 *   -Dadversarial.faults=a,b      only these kinds of adversity (see Adversity; groups: operator, outage,
 *                                 lost-write, restart; "none": runtime traffic only)
 * </pre>
 *
 * Each run's journal, CNI cache and daemon logs stay in {@code daemon/target/adversarial/seed-N}.
 */
class AdversarialTest {
    private static final List<Long> CI_SEEDS = List.of(1L, 2L, 3L);
    private static final int CI_STEPS = 36;
    private static final int PER_KIND = 3;

    @Test
    void theGridTheRuntimeAndTheDaemonAgreeWhateverHappens() throws Exception {
        List<Long> seeds = seeds();
        int steps = Integer.getInteger("adversarial.steps", CI_STEPS);
        Set<Adversity> enabled = Adversity.parse(System.getProperty("adversarial.faults"));
        Path base = Path.of("").toAbsolutePath().resolve("target").resolve("adversarial");
        List<AdversarialRun.Result> results = new ArrayList<>();
        for (long seed : seeds) {
            System.out.println("adversarial: seed " + seed + ", " + steps + " steps, faults " + enabled);
            AdversarialRun.Result r = new AdversarialRun(seed, steps, enabled, base.resolve("seed-" + seed)).run();
            results.add(r);
            System.out.println(summary(r));
        }
        List<Findings.Violation> all = new ArrayList<>();
        for (AdversarialRun.Result r : results) all.addAll(r.findings().violations());
        String total = "adversarial: " + results.size() + " seed(s) " + seeds + ", " + steps + " steps each, faults "
                + enabled + ": " + all.size() + " violation(s)";
        System.out.println(total);
        if (all.isEmpty()) return;
        StringBuilder message = new StringBuilder(total).append('\n');
        for (AdversarialRun.Result r : results) message.append(summary(r)).append('\n');
        // the first few of each kind, so that one kind seen at every step does not hide the others
        Map<String, List<Findings.Violation>> byLabel = new TreeMap<>();
        for (Findings.Violation v : all)
            byLabel.computeIfAbsent(v.label(), k -> new ArrayList<>()).add(v);
        for (var e : byLabel.entrySet()) {
            message.append("violations of kind \"")
                    .append(e.getKey())
                    .append("\": ")
                    .append(e.getValue().size())
                    .append(e.getValue().size() > PER_KIND ? ", the first " + PER_KIND : "")
                    .append('\n');
            for (Findings.Violation v :
                    e.getValue().subList(0, Math.min(PER_KIND, e.getValue().size())))
                message.append("  ").append(v.describe()).append('\n');
        }
        message.append(
                        "every violation of a seed is in its work dir, violations.txt; reproduce one with -Dadversarial.seed=<seed> -Dadversarial.steps=")
                .append(steps);
        if (System.getProperty("adversarial.faults") != null)
            message.append(" -Dadversarial.faults=").append(System.getProperty("adversarial.faults"));
        fail(message.toString());
    }

    private static List<Long> seeds() {
        String list = System.getProperty("adversarial.seed");
        if (list == null || list.isBlank()) return CI_SEEDS;
        return Arrays.stream(list.split(","))
                .map(String::trim)
                .filter(s -> !s.isEmpty())
                .map(Long::parseLong)
                .toList();
    }

    /** One run's figures: seed, steps, faults injected by kind, checks made, violations by invariant. */
    static String summary(AdversarialRun.Result r) {
        Map<String, Integer> checks = new TreeMap<>(r.findings().checks());
        return "adversarial seed " + r.seed() + ": " + r.steps() + " steps in " + r.seconds() + " s (grid "
                + (r.requestObject() ? "with" : "without") + " the request object)"
                + "\n  steps by kind:   " + r.stepKinds()
                + "\n  faults by kind:  " + r.faults()
                + "\n  runtime calls:   " + r.calls()
                + "\n  checks made by invariant: " + checks
                + "\n  violations by invariant:  " + r.findings().byInvariant()
                + "\n  violations by kind:       " + r.findings().byLabel()
                + "\n  work dir (journal, CNI cache, daemon logs): " + r.work();
    }
}
