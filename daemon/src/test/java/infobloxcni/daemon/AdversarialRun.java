package infobloxcni.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import infobloxcni.daemon.RuntimeActions.Kind;
import infobloxcni.daemon.RuntimeActions.Plan;
import infobloxcni.daemon.RuntimeModel.Attachment;
import infobloxcni.daemon.RuntimeModel.Network;
import infobloxcni.daemon.RuntimeModel.State;
import infobloxcni.daemon.audit.JournalAudit;
import infobloxcni.wapisim.WapiSimulator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.Predicate;

/**
 * One seeded adversarial run: a simulator in this JVM (loopback only), the daemon as a process of
 * its own, and a driver that takes {@code steps} steps, each one of the {@link Step} kinds drawn
 * from the seed: runtime traffic (several containers at once, each container's calls in order),
 * or an adversity on the grid's side or the daemon's, followed by the invariant checks that hold
 * after any step; every so often (and at the end) the runtime catches up on what it owes, the
 * daemon is let settle, and the checks that need a settled daemon run.
 */
final class AdversarialRun {
    /** The kinds of step; an adversity's steps run only when it is enabled. */
    enum Step {
        /** 1 to 4 runtime calls at once on different containers */
        RUNTIME(null, 36),
        /** GC of one network, with the runtime's live attachments as the valid ones */
        GC(null, 3),
        /** the runtime catches up, the daemon settles, everything is checked */
        SETTLE(null, 3),
        OPERATOR_DELETES_POOL_ADDRESS(Adversity.OPERATOR_DELETE_POOL, 3),
        OPERATOR_DELETES_RESERVATION(Adversity.OPERATOR_DELETE_RESERVATION, 2),
        OPERATOR_REASSIGNS_ADDRESS(Adversity.OPERATOR_REASSIGN, 4),
        FOREIGN_RESERVATION(Adversity.FOREIGN, 4),
        WRITE_APPLIED_THEN_5XX(Adversity.FAIL_AFTER_COMMIT, 7),
        WRITE_APPLIED_ANSWER_LOST(Adversity.DROP_AFTER_COMMIT, 5),
        GRID_HANGS(Adversity.HANG, 3),
        GRID_REFUSES(Adversity.REFUSE, 3),
        KILL_9(Adversity.KILL9, 4),
        JOURNAL_LOST(Adversity.JOURNAL_LOSS, 3),
        SUBNET_CHANGED(Adversity.SUBNET_CHANGE, 1),
        HOST_RENAMED(Adversity.HOST_RENAME, 1);

        final Adversity adversity;
        final int weight;

        Step(Adversity adversity, int weight) {
            this.adversity = adversity;
            this.weight = weight;
        }
    }

    /** A write to the grid, by what travels on the wire: the unit fault injection counts by. */
    enum WriteKind {
        POST_FIXEDADDRESS("POST"),
        POST_REQUEST("POST"),
        PUT("PUT"),
        DELETE("DELETE");

        final String method;

        WriteKind(String method) {
            this.method = method;
        }
    }

    /** What one run did and found, for the summary. */
    record Result(
            long seed,
            int steps,
            boolean requestObject,
            Findings findings,
            Tally stepKinds,
            Tally faults,
            Tally calls,
            Path work,
            long seconds) {}

    private static final int SETTLE_EVERY = 12;
    private static final String HOST_ID = "adv-host";
    private static final Duration SETTLE_LIMIT = Duration.ofSeconds(90);
    private static final Duration BURST_LIMIT = Duration.ofMinutes(3);

    private final long seed;
    private final Random rnd;
    private final int stepCount;
    private final Set<Adversity> enabled;
    private final Path work;
    private final boolean requestObject;
    private final List<Network> networks = List.of(
            new Network("pa", "10.61.0.0/24", 2),
            new Network("pb", "10.62.0.0/24", 0),
            new Network("pc", "10.63.0.0/24", 1),
            new Network("pd", "10.64.0.0/24", 1, true)); // a range with an excluded address

    private final Tally stepKinds = new Tally();
    private final Tally faults = new Tally();
    private final Tally calls = new Tally();
    private final EventLog events = new EventLog();
    private final RuntimeModel model = new RuntimeModel();
    private final OutageWindow outage = new OutageWindow();
    private final Findings findings;

    private WapiSimulator grid;
    private DaemonUnderTest daemon;
    private GridObjects objects;
    private GridOperator operator;
    private Invariants invariants;
    private RuntimeActions actions;
    private CniCacheEntries cache;
    private volatile String stepKind = "SET_UP";
    private int subnetsChanged;
    private boolean renamed;
    /** The journal was lost since the last settling: what the rebuild adopted for containers gone is for GC. */
    private boolean journalLostSinceSettling;
    /** The run's clock when the journal was last lost (0: never). */
    private volatile long journalLostSeq;

    AdversarialRun(long seed, int steps, Set<Adversity> enabled, Path work) {
        this.seed = seed;
        this.rnd = new Random(seed);
        this.stepCount = steps;
        this.enabled = enabled.isEmpty() ? EnumSet.noneOf(Adversity.class) : EnumSet.copyOf(enabled);
        this.work = work;
        this.requestObject = rnd.nextInt(3) != 0; // grids with WAPI's multiple-request object, and without
        this.findings = new Findings(seed);
    }

    Result run() throws Exception {
        long t0 = System.nanoTime();
        setUp();
        try {
            for (int step = 1; step <= stepCount; step++) {
                events.step(step);
                Step kind = step % SETTLE_EVERY == 0 ? Step.SETTLE : pick();
                stepKind = kind.name();
                stepKinds.add(kind.name());
                take(kind);
                afterStep();
            }
            events.step(stepCount + 1);
            stepKind = "FINAL_SETTLE";
            settle();
        } finally {
            grid.faults().reset();
            daemon.close();
            grid.close();
            Files.write(work.resolve("events.txt"), events.all());
            Files.write(
                    work.resolve("violations.txt"),
                    findings.violations().stream()
                            .map(Findings.Violation::describe)
                            .toList());
        }
        return new Result(
                seed,
                stepCount,
                requestObject,
                findings,
                stepKinds,
                faults,
                calls,
                work,
                (System.nanoTime() - t0) / 1_000_000_000L);
    }

    // ------------------------------------------------------------------------- set-up

    private void setUp() throws Exception {
        TestHost.deleteTree(work);
        Files.createDirectories(work);
        grid = WapiSimulator.builder()
                .port(0)
                .bindAddress("127.0.0.1")
                .credentials(TestHost.USER, TestHost.PASSWORD)
                .requestObject(requestObject)
                .build()
                .start();
        daemon = new DaemonUnderTest(grid, work.resolve("host"), HOST_ID);
        objects = new GridObjects(grid);
        operator = new GridOperator(grid, objects, events);
        cache = new CniCacheEntries(daemon.cniCacheDir());
        invariants = new Invariants(
                model,
                networks,
                objects,
                operator,
                events,
                findings,
                daemon::hostIds,
                () -> stepKind,
                () -> journalLostSeq);
        Path plugin = null;
        try {
            plugin = DaemonCrashTest.findPlugin();
        } catch (AssertionError notBuilt) {
            System.out.println("adversarial: no bin/infoblox with a built plugin.jar; every call goes over the socket");
        }
        actions = new RuntimeActions(
                model,
                new CniCalls(daemon::host, plugin),
                cache,
                invariants,
                events,
                outage,
                daemon::socketDir,
                calls,
                this::tornDown,
                daemon::mayHaveKnownGridDownSince);
        daemon.start();
        // the networks come into being on the grid with their first container
        burst(
                networks.stream()
                        .map(n -> claimed(Kind.ADD, model.newContainer(n)))
                        .toList(),
                null);
        settle();
    }

    /**
     * The runtime tears an attachment down: the original driver's reservation of a migrated
     * container on that network may go now (the others stay watched).
     */
    private void tornDown(Attachment a) {
        for (GridOperator.Foreign f : operator.foreignOf(a.id)) {
            if (f.kind().equals(GridOperator.ORIGINAL_DRIVERS) && f.network().equals(a.network.name)) operator.mayGo(f);
        }
    }

    // ------------------------------------------------------------------------- the steps

    /**
     * Half the steps are runtime traffic (or GC, or a settling), half an adversity, drawn by weight
     * among the enabled ones: restricting the kinds of fault makes each one come more often.
     */
    private Step pick() {
        List<Step> runtime = new ArrayList<>();
        List<Step> adversity = new ArrayList<>();
        for (Step s : Step.values()) {
            if (s.adversity == null) runtime.add(s);
            else if (!enabled.contains(s.adversity)) continue;
            else if (s == Step.SUBNET_CHANGED && subnetsChanged >= 2) continue;
            else if (s == Step.HOST_RENAMED && renamed) continue;
            else adversity.add(s);
        }
        return weighted(!adversity.isEmpty() && rnd.nextBoolean() ? adversity : runtime);
    }

    private Step weighted(List<Step> steps) {
        int roll = rnd.nextInt(steps.stream().mapToInt(s -> s.weight).sum());
        for (Step s : steps) {
            roll -= s.weight;
            if (roll < 0) return s;
        }
        throw new IllegalStateException("weights");
    }

    private void take(Step kind) throws Exception {
        switch (kind) {
            case RUNTIME -> burst(planBurst(1 + rnd.nextInt(4), hotNetwork()), operatorDuring());
            case GC -> actions.gc(networks.get(rnd.nextInt(networks.size())));
            case SETTLE -> settle();
            case OPERATOR_DELETES_POOL_ADDRESS -> operatorDeletesPoolAddress(pooledNetwork());
            case OPERATOR_DELETES_RESERVATION -> operatorDeletesReservation();
            case OPERATOR_REASSIGNS_ADDRESS -> operatorReassigns(hotNetwork());
            case FOREIGN_RESERVATION -> foreignReservation();
            case WRITE_APPLIED_THEN_5XX -> writeAppliedThen(true);
            case WRITE_APPLIED_ANSWER_LOST -> writeAppliedThen(false);
            case GRID_HANGS -> outage(true);
            case GRID_REFUSES -> outage(false);
            case KILL_9 -> kill9UnderLoad();
            case JOURNAL_LOST -> journalLost();
            case SUBNET_CHANGED -> subnetChanged();
            case HOST_RENAMED -> hostRenamed();
        }
    }

    /** The checks that hold after any step, settled or not. */
    private void afterStep() throws Exception {
        if (!daemon.running()) {
            findings.violation(
                    events.step(),
                    stepKind,
                    Findings.I5,
                    "5: the daemon exited by itself",
                    "the daemon",
                    "5|exited|" + events.step(),
                    "the daemon process exited by itself; restarted",
                    null,
                    List.of());
            daemon.start();
        }
        invariants.liveAttachmentsStayHeld();
        invariants.foreignObjectsUntouched();
        invariants.noAddressHeldTwice();
        invariants.freePoolEntriesAreBacked(daemon::journal);
    }

    // ------------------------------------------------------------------------- runtime traffic

    /** A network most of a burst's calls go to: so that ADDs and DELs meet on one pool. */
    private Network hotNetwork() {
        return networks.get(rnd.nextInt(networks.size()));
    }

    private Network pooledNetwork() {
        List<Network> pooled = networks.stream().filter(n -> n.poolSize > 0).toList();
        return pooled.get(rnd.nextInt(pooled.size()));
    }

    private Plan plan(Kind kind, Attachment a) {
        return new Plan(
                kind,
                a,
                actions.canUsePlugin() && rnd.nextInt(20) == 0,
                rnd.nextInt(100) < (a.network.poolSize > 0 ? 25 : 10),
                rnd.nextBoolean());
    }

    /** Up to {@code size} calls for different containers, most on {@code hot}. */
    private List<Plan> planBurst(int size, Network hot) {
        List<Plan> out = new ArrayList<>();
        for (int i = 0; i < size; i++) {
            Plan p = planOne(rnd.nextInt(10) < 7 ? hot : hotNetwork());
            if (p != null) out.add(p);
        }
        return out;
    }

    /** One call the runtime makes now, its container claimed; null when the roll found nothing to do. */
    private Plan planOne(Network net) {
        int roll = rnd.nextInt(100);
        if (roll < 30) return planAdd(net);
        if (roll < 40) return claimed(Kind.ADD_RETRY, pick(model.in(State.ADD_RETRY), a -> true));
        if (roll < 60) return claimed(Kind.DEL, pick(model.live(), a -> a.network == net));
        if (roll < 66) return claimed(Kind.DEL_OWED, pick(model.in(State.DEL_OWED), a -> !a.staleCache));
        if (roll < 68) return claimed(Kind.DEL_OWED, pick(model.in(State.DEL_OWED), a -> a.staleCache));
        if (roll < 80) return claimed(Kind.CHECK, pick(model.live(), a -> true));
        if (roll < 84) return claimed(Kind.DEL_REPEAT, pick(model.in(State.GONE), a -> true));
        if (roll < 88) return delNeverAdded(net);
        if (roll < 91) return claimed(Kind.DEL_BEFORE_ADD, model.newContainer(net));
        if (roll < 96) return planAddOnAnotherNetwork();
        return planAdd(net);
    }

    private Plan planAdd(Network net) {
        // sometimes a container whose DEL came before its ADD
        Attachment early = rnd.nextInt(3) == 0 ? pick(model.in(State.NEW), a -> a.network == net) : null;
        return claimed(Kind.ADD, early != null ? early : model.newContainer(net));
    }

    /** A container that has an attachment (perhaps the original driver's) gets one on another network. */
    private Plan planAddOnAnotherNetwork() {
        Attachment some = pick(model.live(), a -> a.migrated || rnd.nextInt(4) == 0);
        if (some == null) return null;
        List<Network> others = networks.stream()
                .filter(n -> model.of(some.id).stream().noneMatch(a -> a.network == n))
                .toList();
        if (others.isEmpty() || model.busy(some)) return null;
        return claimed(Kind.ADD, model.attach(some.id, others.get(rnd.nextInt(others.size()))));
    }

    /** A DEL of a container ID this runtime never added: a fresh one, or the VM ID of someone else's reservation. */
    private Plan delNeverAdded(Network net) {
        List<String> foreignIds = operator.foreign().stream()
                .map(GridOperator.Foreign::containerId)
                .filter(id -> id != null && model.of(id).isEmpty())
                .toList();
        String id = !foreignIds.isEmpty() && rnd.nextBoolean()
                ? foreignIds.get(rnd.nextInt(foreignIds.size()))
                : model.newId("never-");
        Attachment stranger = new Attachment(id, net); // not in the model: the runtime never had it
        return model.claim(stranger) ? new Plan(Kind.DEL_NEVER_ADDED, stranger, false, false, false) : null;
    }

    private Plan claimed(Kind kind, Attachment a) {
        if (a == null || !model.claim(a)) return null;
        return plan(kind, a);
    }

    private <T> T pick(List<T> from, Predicate<T> filter) {
        List<T> fit = from.stream().filter(filter).toList();
        return fit.isEmpty() ? null : fit.get(rnd.nextInt(fit.size()));
    }

    /** Runs the plans at once (each container's one call), and an operator's action beside them; waits for all. */
    private void burst(List<Plan> plans, Runnable beside) throws InterruptedException {
        List<Thread> threads = new ArrayList<>();
        // a call the harness itself failed on leaves its container unknown to the model: the run says so
        // instead of reporting what follows (a "leak") as the daemon's
        java.util.concurrent.atomic.AtomicReference<RuntimeException> harness =
                new java.util.concurrent.atomic.AtomicReference<>();
        for (Plan p : plans) {
            threads.add(Thread.ofVirtual().name("runtime-" + p.attachment().id).start(() -> {
                try {
                    actions.run(p);
                } catch (RuntimeException e) {
                    harness.compareAndSet(null, e);
                } finally {
                    model.unclaim(p.attachment());
                }
            }));
        }
        if (beside != null) threads.add(Thread.ofVirtual().name("operator").start(beside));
        long deadline = System.nanoTime() + BURST_LIMIT.toNanos();
        for (Thread t : threads) {
            if (!t.join(Duration.ofNanos(Math.max(1, deadline - System.nanoTime()))))
                throw new AssertionError("seed " + seed + " step " + events.step()
                        + ": a runtime call did not end within " + BURST_LIMIT.toMinutes() + " min ("
                        + plans.stream().map(Plan::describe).toList() + ")");
        }
        if (harness.get() != null)
            throw new AssertionError(
                    "seed " + seed + " step " + events.step() + ": the test's runtime failed on a call", harness.get());
    }

    /** Sometimes an operator acts on the grid while the runtime's calls are in flight. */
    private Runnable operatorDuring() {
        boolean any = enabled.contains(Adversity.OPERATOR_DELETE_POOL) || enabled.contains(Adversity.OPERATOR_REASSIGN);
        if (!any || rnd.nextInt(7) != 0) return null;
        long delay = rnd.nextInt(150);
        boolean reassign = enabled.contains(Adversity.OPERATOR_REASSIGN)
                && (!enabled.contains(Adversity.OPERATOR_DELETE_POOL) || rnd.nextBoolean());
        Network net = pooledNetwork();
        Random own = new Random(rnd.nextLong());
        return () -> {
            try {
                Thread.sleep(delay); // an operator's action at a moment drawn from the seed, while calls are in flight
                if (reassign) reassignFreePoolAddress(net, own, "while ADDs are in flight");
                else deleteFreePoolAddress(net, own, "while ADDs are in flight");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
    }

    // ------------------------------------------------------------------------- the operator

    private List<Map<String, Object>> freePoolEntries(Network n) {
        return objects.all().stream()
                .filter(f -> GridObjects.poolEntryOf(f, daemon.hostIds(), n.name))
                .toList();
    }

    private boolean deleteFreePoolAddress(Network n, Random r, String when) {
        List<Map<String, Object>> pool = freePoolEntries(n);
        if (pool.isEmpty()) return false;
        String address = GridObjects.address(pool.get(r.nextInt(pool.size())));
        if (operator.delete(address, "a free pool address of " + n.name + ", " + when)) {
            faults.add("operator deletes a free pool address");
            return true;
        }
        return false;
    }

    private boolean reassignFreePoolAddress(Network n, Random r, String when) {
        List<Map<String, Object>> pool = freePoolEntries(n);
        if (pool.isEmpty()) return false;
        String address = GridObjects.address(pool.get(r.nextInt(pool.size())));
        if (operator.reassignToPrinter(address, "it was a free pool address of " + n.name + ", " + when) != null) {
            faults.add("operator reserves a free pool address for a printer");
            return true;
        }
        return false;
    }

    private void operatorDeletesPoolAddress(Network n) throws Exception {
        awaitPoolFull(n); // an operator who tidies up a full pool
        if (deleteFreePoolAddress(n, rnd, "the pool full")) containersStart(n);
    }

    /** The runtime carries on where the grid just changed: one or two new containers on the network. */
    private void containersStart(Network n) throws InterruptedException {
        List<Plan> plans = new ArrayList<>();
        for (int i = rnd.nextInt(2); i >= 0; i--) {
            Plan p = planAdd(n);
            if (p != null) plans.add(p);
        }
        burst(plans, null);
    }

    private void operatorDeletesReservation() {
        Attachment a = pick(model.live(), x -> x.confirmed && !invariants.touched(x));
        if (a == null) return;
        if (operator.delete(a.address, "the reservation of live " + a.label()))
            faults.add("operator deletes a live container's reservation");
    }

    /** An operator reserves an address for a printer: a free pool address, one a DEL freed, or a live container's. */
    private void operatorReassigns(Network n) throws Exception {
        int roll = rnd.nextInt(4);
        if (roll < 2 && n.poolSize > 0) {
            awaitPoolFull(n);
            if (reassignFreePoolAddress(n, rnd, "the pool full")) containersStart(n);
            return;
        }
        if (roll == 2) {
            Map<String, Map<String, Object>> held = objects.byAddress();
            Attachment freed = pick(model.in(State.GONE), a -> a.address != null && !held.containsKey(a.address));
            if (freed != null
                    && operator.reassignToPrinter(freed.address, "freed by the DEL of " + freed.label()) != null) {
                faults.add("operator reserves a freed address for a printer");
            }
            return;
        }
        Attachment a = pick(model.live(), x -> x.confirmed && !invariants.touched(x));
        if (a != null && operator.reassignToPrinter(a.address, "it was live " + a.label() + "'s") != null)
            faults.add("operator reserves a live container's address for a printer");
    }

    private void awaitPoolFull(Network n) throws InterruptedException {
        Eventually.within(Duration.ofSeconds(10), () -> freePoolEntries(n).size() >= n.poolSize);
    }

    // ------------------------------------------------------------------------- other owners

    /** Someone else's reservation with one of our VM IDs: another host, another platform, or the original driver's. */
    private void foreignReservation() {
        int roll = rnd.nextInt(3);
        if (roll < 2) {
            Network n = hotNetwork();
            Attachment namesake = rnd.nextInt(3) != 0 ? pick(model.live(), a -> true) : null;
            String id = namesake != null ? namesake.id : model.newId(roll == 0 ? "k" : "vm-");
            String address = objects.freeAddress(n.subnet(), rnd);
            if (address == null) return;
            GridOperator.Foreign f = roll == 0
                    ? operator.otherHostsReservation(n.name, address, id)
                    : operator.otherPlatformsReservation(n.name, address, id);
            if (f != null) faults.add("foreign: " + f.kind());
            return;
        }
        // a container the original driver set up on two networks, still running: the runtime has it, the journal has
        // not
        String id = model.newId("m");
        List<Network> two = new ArrayList<>(networks);
        java.util.Collections.shuffle(two, rnd);
        for (Network n : two.subList(0, 2)) {
            String address = objects.freeAddress(n.subnet(), rnd);
            if (address == null) continue;
            GridOperator.Foreign f = operator.originalDriversReservation(n.name, address, id);
            if (f == null) continue;
            String result =
                    "{\"cniVersion\":\"1.1.0\",\"interfaces\":[{\"name\":\"eth0\",\"mac\":\"02:42:0a:00:00:33\","
                            + "\"sandbox\":\"/var/run/netns/" + id + "\"}],\"ips\":[{\"address\":\"" + address
                            + "/24\",\"gateway\":\""
                            + Network.prefixOf(n.subnet()) + "1\",\"interface\":0}]}";
            Attachment a = model.migrated(id, n, address, result);
            a.addStartedSeq = events.now();
            cache.write(a.key(), actions.netconf(n), result);
            faults.add("foreign: the original driver's reservation of a live container");
        }
    }

    // ------------------------------------------------------------------------- lost answers

    /**
     * A write the grid applies and then answers 502/503/504 ({@code fail}) or never answers: one of
     * the four kinds of write, armed just before the runtime call that makes it, with the
     * runtime carrying on at once on the same network (an ADD that takes from the pool, say).
     */
    private void writeAppliedThen(boolean fail) throws Exception {
        // with the request object a release is one POST request; a DELETE only releases the original driver's
        boolean deletes = !requestObject || model.live().stream().anyMatch(a -> a.migrated);
        List<WriteKind> kinds = new ArrayList<>(List.of(WriteKind.POST_FIXEDADDRESS));
        kinds.add(requestObject ? WriteKind.POST_REQUEST : WriteKind.PUT);
        if (deletes) kinds.add(WriteKind.DELETE);
        WriteKind kind = kinds.get(rnd.nextInt(kinds.size()));
        int status = new int[] {502, 503, 504}[rnd.nextInt(3)];
        Plan trigger = triggerFor(kind);
        if (trigger == null) return;
        awaitQuiet(Duration.ofSeconds(8)); // so that the next write of that method is the trigger's
        List<Plan> after = new ArrayList<>();
        for (int i = rnd.nextInt(3); i >= 0; i--) {
            Plan p =
                    rnd.nextInt(10) < 7 ? planAdd(trigger.attachment().network) : planOne(trigger.attachment().network);
            if (p != null) after.add(p);
        }
        grid.resetCounters();
        String what = fail ? "applied then answered " + status : "applied, its answer lost";
        if (fail)
            grid.faults().failAfterApplyingNext(1, status, "Server.Unavailable", "injected " + status, kind.method);
        else grid.faults().dropAfterApplyingNext(1, kind.method);
        String target = trigger.attachment().label();
        events.add(
                "armed: the grid's next " + kind.method + " is " + what + ", for " + trigger.describe() + " (" + kind
                        + ")",
                target,
                trigger.attachment().id,
                trigger.attachment().address);
        burst(List.of(trigger), null);
        burst(after, null);
        boolean hit = Eventually.within(
                Duration.ofSeconds(5),
                () -> grid.faults().pendingFailuresAfter() == 0 && grid.faults().pendingDropsAfter() == 0);
        grid.faults().failAfterApplyingNext(0, 500, "x", "x", null).dropAfterApplyingNext(0, null);
        String victim = hit ? victimOf(fail ? String.valueOf(status) : "dropped") : "nothing (not hit)";
        faults.add((fail ? "applied then " + status : "applied, answer lost") + ": " + victim);
        events.add("the injected fault hit " + victim, target, trigger.attachment().id, trigger.attachment().address);
        // what the fault left is settled in the background (a release retried after its backoff): the
        // checks after this step look once the daemon has nothing pending
        awaitQuiet(Duration.ofSeconds(15));
    }

    /** The runtime call that makes a write of this kind. */
    private Plan triggerFor(WriteKind kind) {
        Network plain =
                networks.stream().filter(n -> n.poolSize == 0).findFirst().orElseThrow();
        return switch (kind) {
            case POST_FIXEDADDRESS -> {
                Plan other = rnd.nextInt(3) == 0 ? planAddOnAnotherNetwork() : null;
                yield other != null ? other : planAdd(rnd.nextInt(4) == 0 ? pooledNetwork() : plain);
            }
            case POST_REQUEST, PUT ->
                rnd.nextInt(3) == 0 ? planAdd(pooledNetwork()) : claimed(Kind.DEL, pick(model.live(), a -> true));
            case DELETE -> {
                Plan migrated = requestObject ? claimed(Kind.DEL, pick(model.live(), a -> a.migrated)) : null;
                yield migrated != null ? migrated : claimed(Kind.DEL, pick(model.live(), a -> true));
            }
        };
    }

    /** The call the injected fault answered, from the simulator's request log ("POST request", say). */
    private String victimOf(String outcome) {
        for (String line : grid.requestLog()) {
            if (!line.endsWith("-> " + outcome)) continue;
            String[] parts = line.split(" ");
            String path = parts[1].replaceFirst("\\?.*", "").replaceFirst("^/wapi/v[0-9.]+/", "");
            return parts[0] + " " + path.replaceFirst("/.*", "");
        }
        return "(not in the log)";
    }

    // ------------------------------------------------------------------------- outages

    /**
     * The grid hangs or refuses, briefly (the daemon may not even notice) or for seconds; the
     * runtime goes on meanwhile (ADDs the pool may serve, DELs it gives back), an operator may
     * act, and the outage ends once the daemon has been seen to know the grid is back.
     */
    private void outage(boolean hang) throws Exception {
        boolean brief = rnd.nextInt(5) < 2;
        long millis = brief ? 150 + rnd.nextInt(600) : 2000 + rnd.nextInt(3000);
        boolean operatorActs = rnd.nextInt(3) == 0
                && (enabled.contains(Adversity.OPERATOR_REASSIGN) || enabled.contains(Adversity.OPERATOR_DELETE_POOL));
        Network net = pooledNetwork();
        List<Plan> during = planBurst(1 + rnd.nextInt(3), net);
        List<Plan> later = brief ? List.of() : planBurst(1 + rnd.nextInt(3), net);
        long t0 = System.nanoTime();
        beginOutage(hang);
        Thread runtime = Thread.ofVirtual().start(() -> {
            try {
                burst(during, null);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        if (!brief) {
            boolean noticed = Eventually.within(Duration.ofSeconds(8), daemon::failingFast);
            faults.add((hang ? "grid hangs" : "grid refuses") + (noticed ? " (the daemon noticed)" : " (not noticed)"));
            if (operatorActs) {
                if (enabled.contains(Adversity.OPERATOR_REASSIGN))
                    reassignFreePoolAddress(net, rnd, "during an outage");
                else deleteFreePoolAddress(net, rnd, "during an outage");
            }
            burst(later, null);
        } else {
            faults.add((hang ? "grid hangs" : "grid refuses") + " briefly");
        }
        // the outage lasts this long: an injected condition, not a wait for the daemon
        long left = millis - (System.nanoTime() - t0) / 1_000_000;
        if (left > 0) Thread.sleep(left);
        endOutage();
        if (!runtime.join(BURST_LIMIT)) throw new AssertionError("runtime calls did not end after the outage");
    }

    private void beginOutage(boolean hang) {
        outage.begin(events.now());
        if (hang) grid.faults().hang(true);
        else grid.faults().outage(true);
        events.add(hang ? "the grid hangs" : "the grid refuses connections");
    }

    /** The grid is back; the window closes once the daemon no longer believes it down (bounded). */
    private void endOutage() throws InterruptedException {
        grid.faults().hang(false).outage(false);
        events.add("the grid is back");
        if (daemon.running()) Eventually.within(Duration.ofSeconds(30), () -> !daemon.failingFast());
        outage.end();
    }

    // ------------------------------------------------------------------------- the daemon's life

    /** kill -9 while calls are in flight; perhaps an operator acts while the daemon is down; restart on the same state. */
    private void kill9UnderLoad() throws Exception {
        List<Plan> plans = planBurst(1 + rnd.nextInt(4), hotNetwork());
        long at = rnd.nextInt(400);
        Thread runtime = Thread.ofVirtual().start(() -> {
            try {
                burst(plans, null);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        Thread.sleep(at); // the moment of the crash, drawn from the seed
        daemon.kill9();
        events.add("kill -9 of the daemon, " + at + " ms into " + plans.size() + " call(s)");
        faults.add("kill -9");
        if (!runtime.join(BURST_LIMIT)) throw new AssertionError("runtime calls did not end after kill -9");
        Network pooled = pooledNetwork();
        if (rnd.nextInt(3) == 0 && enabled.contains(Adversity.OPERATOR_REASSIGN))
            reassignFreePoolAddress(pooled, rnd, "while the daemon is down");
        else if (rnd.nextInt(3) == 0 && enabled.contains(Adversity.OPERATOR_DELETE_POOL))
            deleteFreePoolAddress(pooled, rnd, "while the daemon is down");
        daemon.start();
        events.add("the daemon restarted on the same state");
        containersStart(rnd.nextBoolean() ? pooled : hotNetwork()); // the runtime retries what the crash broke
    }

    /**
     * The journal is lost: with the daemon stopped, or killed in an outage after containers took
     * the pool's addresses (their tags could not be made); restarted, it rebuilds from the grid and
     * the runtime's CNI cache.
     */
    private void journalLost() throws Exception {
        boolean inOutage = rnd.nextBoolean();
        if (!inOutage) {
            if (rnd.nextBoolean()) daemon.stop();
            else daemon.kill9();
            daemon.loseJournal();
            journalLostSinceSettling = true;
            events.add("the daemon stopped; its journal deleted");
            faults.add("journal lost");
            daemon.start();
            // what the grid loses before the merge is done, the journal could not have known
            daemon.awaitJournalMerged();
            journalLostSeq = events.now();
            events.add("the daemon merged its journal with the grid");
            return;
        }
        beginOutage(false);
        // every pool address handed out while the grid is away
        List<Plan> takers = new ArrayList<>();
        for (Network n : networks) {
            for (int i = 0; i < n.poolSize; i++) {
                Plan p = claimed(Kind.ADD, model.newContainer(n));
                if (p != null) takers.add(p);
            }
        }
        burst(takers, null);
        daemon.kill9();
        daemon.loseJournal();
        journalLostSinceSettling = true;
        journalLostSeq = events.now();
        events.add("in the outage: kill -9 of the daemon, its journal deleted; cache order " + cache.listingOrder());
        faults.add("journal lost after kill -9 in an outage");
        boolean backFirst = rnd.nextBoolean();
        if (backFirst) grid.faults().outage(false);
        daemon.start();
        endOutage();
        events.add("the daemon restarted without its journal" + (backFirst ? " (the grid back before)" : ""));
        daemon.awaitJournalMerged();
        journalLostSeq = events.now();
        events.add("the daemon merged its journal with the grid");
    }

    /** A network's netconf names a new subnet under the same name. */
    private void subnetChanged() throws Exception {
        Network n = networks.get(rnd.nextInt(networks.size()));
        String newSubnet = "10." + (71 + subnetsChanged) + ".0.0/24";
        subnetsChanged++;
        String old = n.subnet();
        n.changeSubnet(newSubnet);
        events.add("the netconf of " + n.name + " now says subnet " + newSubnet + " (was " + old + ")");
        faults.add("subnet changed");
        burst(planBurst(2, n), null);
    }

    /** The daemon restarted under another --host-id, on the same state. */
    private void hostRenamed() throws Exception {
        renamed = true;
        daemon.stop();
        String old = daemon.hostId();
        daemon.renameHost(HOST_ID + "-renamed");
        daemon.start();
        events.add("the daemon restarted as --host-id " + daemon.hostId() + " (was " + old + ")");
        faults.add("host renamed");
    }

    // ------------------------------------------------------------------------- settling

    /**
     * Faults off, the grid up; the runtime makes the calls it owes (ADD retries, DELs, and a GC of
     * every network once the daemon has lost its journal); the daemon is let settle (nothing pending, every pool at its target), bounded; then the checks that need
     * a settled daemon: answers given during outages, leaks, what is missing, the audit.
     */
    private void settle() throws Exception {
        String was = stepKind;
        grid.faults().reset();
        if (outage.active()) endOutage();
        Eventually.within(Duration.ofSeconds(30), () -> !daemon.failingFast());
        for (Network n : networks) actions.status(n); // a restarted daemon learns each pool's target from a request
        for (Attachment a : model.in(State.ADD_RETRY)) {
            if (!model.claim(a)) continue;
            try {
                actions.add(a, false, false);
            } finally {
                model.unclaim(a);
            }
        }
        for (int round = 0; round < 5 && !model.in(State.DEL_OWED).isEmpty(); round++) {
            for (Attachment a : model.in(State.DEL_OWED)) {
                if (!model.claim(a)) continue;
                try {
                    actions.del(a, false, false, Kind.DEL_OWED);
                } finally {
                    model.unclaim(a);
                }
            }
        }
        if (journalLostSinceSettling) {
            // A rebuild only adopts: the reservations of containers whose DEL the lost journal still had
            // to carry out are adopted too, and GC (the runtime's, with its live attachments) lets them go.
            for (Network n : networks) actions.gc(n);
            journalLostSinceSettling = false;
        }
        JsonNode[] last = new JsonNode[1];
        boolean settled = Eventually.within(SETTLE_LIMIT, new java.util.function.BooleanSupplier() {
            private int quietPolls;

            @Override
            public boolean getAsBoolean() {
                last[0] = daemon.status();
                quietPolls = isSettled(last[0]) ? quietPolls + 1 : 0;
                if (quietPolls >= 2) return true;
                try {
                    Thread.sleep(250); // between two looks at the status
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return false;
            }
        });
        stepKind = was;
        invariants.settled(settled, last[0], settled ? "" : unsettled(last[0]));
        JournalAudit.Report audit = daemon.audit(model.live().stream()
                .map(a -> new JournalAudit.LiveAttachment(a.network.name, a.id, a.ifName))
                .toList());
        invariants.outageAnswersSettled(audit, a -> actions.check(a, false, false));
        invariants.liveAttachmentsStayHeld();
        invariants.foreignObjectsUntouched();
        invariants.noAddressHeldTwice();
        invariants.noLeakNothingMissing();
        invariants.touchedAttachmentsAreReported(audit, a -> actions.check(a, false, false));
        invariants.auditIsClean(audit);
        events.add("settled" + (settled ? "" : " (not within " + SETTLE_LIMIT.toSeconds() + " s)") + "; audit: "
                + audit.findings().size() + " finding(s)");
    }

    /** Waits (bounded, no finding if it runs out) until the daemon has nothing pending and its pools are full. */
    private void awaitQuiet(Duration limit) throws InterruptedException {
        Eventually.within(limit, () -> isSettled(daemon.status()));
    }

    /** Nothing pending, and every pool of the netconfs at its target, as the daemon's status says. */
    private boolean isSettled(JsonNode status) {
        if (status.path("grid").path("failingFast").asBoolean()) return false;
        if (!status.path("pending").isEmpty()) return false;
        for (Network n : networks) {
            JsonNode pool = status.path("pools").path(n.name);
            if (n.poolSize == 0) {
                if (pool.path("free").asInt(0) != 0) return false;
            } else if (pool.path("free").asInt(-1) != n.poolSize
                    || pool.path("target").asInt(-1) != n.poolSize) {
                return false;
            }
        }
        return true;
    }

    private String unsettled(JsonNode status) {
        if (status == null) return "no status";
        return "pending " + DaemonUnderTest.pending(status) + ", pools " + status.path("pools") + ", grid "
                + status.path("grid");
    }
}
