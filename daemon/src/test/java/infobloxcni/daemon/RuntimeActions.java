package infobloxcni.daemon;

import infobloxcni.daemon.RuntimeModel.Attachment;
import infobloxcni.daemon.RuntimeModel.Network;
import infobloxcni.daemon.RuntimeModel.State;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Supplier;

/**
 * The runtime's calls, one attachment at a time: each sends its request ({@link CniCalls}), applies
 * what the runtime does with the answer to the {@link RuntimeModel} and the CNI cache, records
 * the event, and makes the checks that belong right after an answer (invariant 1 after an ADD,
 * invariant 2 after a CHECK). Every random choice comes in the {@link Plan}, drawn by the
 * single-threaded driver, so a seed decides them whatever the threads' timing.
 */
final class RuntimeActions {
    /** What the runtime does to one attachment. */
    enum Kind {
        /** the first ADD of a new container */
        ADD,
        /** the runtime ADDs again after "try again" or a lost answer */
        ADD_RETRY,
        /** the container goes away */
        DEL,
        /** a DEL that did not (fully) succeed, again */
        DEL_OWED,
        /** a DEL of a container that is gone already */
        DEL_REPEAT,
        /** a DEL of a container this runtime never added (perhaps someone else's VM ID) */
        DEL_NEVER_ADDED,
        /** a DEL before the container's ADD (a sandbox torn down before it was set up) */
        DEL_BEFORE_ADD,
        /** CHECK with the ADD's result as prevResult */
        CHECK
    }

    /** One planned call, with every random choice it needs already made. */
    record Plan(Kind kind, Attachment attachment, boolean viaPlugin, boolean teardownFails, boolean retryOnTryAgain) {
        String describe() {
            return kind + " " + attachment.label();
        }
    }

    private final RuntimeModel model;
    private final CniCalls calls;
    private final CniCacheEntries cache;
    private final Invariants invariants;
    private final EventLog events;
    private final OutageWindow outage;
    private final Supplier<Path> socketDir;
    private final Tally tally;
    private final java.util.function.Consumer<Attachment> tornDown;
    private final java.util.function.Predicate<java.time.Instant> daemonMayHaveKnownDownSince;

    RuntimeActions(
            RuntimeModel model,
            CniCalls calls,
            CniCacheEntries cache,
            Invariants invariants,
            EventLog events,
            OutageWindow outage,
            Supplier<Path> socketDir,
            Tally tally,
            java.util.function.Consumer<Attachment> tornDown,
            java.util.function.Predicate<java.time.Instant> daemonMayHaveKnownDownSince) {
        this.daemonMayHaveKnownDownSince = daemonMayHaveKnownDownSince;
        this.model = model;
        this.calls = calls;
        this.cache = cache;
        this.invariants = invariants;
        this.events = events;
        this.outage = outage;
        this.socketDir = socketDir;
        this.tally = tally;
        this.tornDown = tornDown;
    }

    boolean canUsePlugin() {
        return calls.canUsePlugin();
    }

    /** Runs one plan; the caller has claimed the attachment's container and releases it after. */
    void run(Plan p) {
        switch (p.kind()) {
            case ADD, ADD_RETRY -> add(p.attachment(), p.viaPlugin(), p.retryOnTryAgain());
            case DEL, DEL_OWED, DEL_REPEAT, DEL_NEVER_ADDED, DEL_BEFORE_ADD ->
                del(p.attachment(), p.viaPlugin(), p.teardownFails(), p.kind());
            case CHECK -> check(p.attachment(), p.viaPlugin());
        }
    }

    String netconf(Network n) {
        return n.netconf(socketDir.get());
    }

    void add(Attachment a, boolean viaPlugin, boolean retryOnTryAgain) {
        String cidr = a.network.subnet();
        OutageWindow.Mark mark = outage.mark();
        java.time.Instant sent = java.time.Instant.now();
        model.addSent(a, events.now());
        String conf = netconf(a.network);
        CniCalls.Result r = calls.call("ADD", a.id, a.ifName, conf, viaPlugin);
        // The documented trade-off holds while the daemon knows the grid down: an injected outage, or the grid's
        // resets of held connections as a hang ends, which the daemon may count after the window has closed.
        boolean exempt = outage.overlapped(mark) || r.ok() && daemonMayHaveKnownDownSince.test(sent);
        String address = r.ok() ? r.address() : null;
        // invariant 1 is checked the moment the answer is in, before anything else can change the grid
        if (r.ok() && !exempt) invariants.answeredAddressIsHeld(a, address);
        if (r.ok()) invariants.answeredAddressIsInScope(a, cidr, address);
        tally.add("ADD " + outcome(r) + (exempt ? " (during an outage)" : ""));
        events.add(
                "ADD " + a.label() + (a.addAttempts > 1 ? " (attempt " + a.addAttempts + ")" : "") + " -> "
                        + (r.ok() ? address : r.brief()) + (exempt ? " [during an outage]" : ""),
                address,
                a.label(),
                a.id);
        model.addAnswered(a, r, cidr, exempt, retryOnTryAgain);
        if (r.ok()) cache.write(a.key(), conf, r.stdout());
    }

    void del(Attachment a, boolean viaPlugin, boolean teardownFails, Kind kind) {
        model.delSent(a);
        tornDown.accept(a);
        CniCalls.Result r = calls.call("DEL", a.id, a.ifName, netconf(a.network), viaPlugin);
        tally.add(kind + " " + outcome(r));
        boolean owed;
        synchronized (model) {
            owed = a.state == State.DEL_OWED;
        }
        boolean stale = owed && r.ok() && teardownFails;
        events.add(
                kind + " " + a.label() + " -> " + r.brief()
                        + (stale ? " (the teardown after it fails: cache entry stays)" : ""),
                a.address,
                a.label(),
                a.id);
        model.delAnswered(a, r.ok(), teardownFails);
        synchronized (model) {
            if (a.state == State.GONE) cache.remove(a.key());
        }
    }

    void check(Attachment a, boolean viaPlugin) {
        check(a, viaPlugin, true);
    }

    /** CHECK with prevResult; invariant 2 holds its answer against the grid when {@code judge}. */
    CniCalls.Result check(Attachment a, boolean viaPlugin, boolean judge) {
        long sent = events.now();
        CniCalls.Result r =
                calls.call("CHECK", a.id, a.ifName, TestHost.withPrevResult(netconf(a.network), a.result), viaPlugin);
        if (judge) invariants.checkAgreesWithTheGrid(a, r, sent);
        tally.add("CHECK " + outcome(r));
        events.add("CHECK " + a.label() + " (" + a.address + ") -> " + r.brief(), a.address, a.label());
        return r;
    }

    /** GC of a network, with the runtime's live attachments of it as the valid ones. */
    CniCalls.Result gc(Network n) {
        List<Attachment> valid =
                model.live().stream().filter(a -> a.network == n).toList();
        StringBuilder list = new StringBuilder();
        for (Attachment a : valid) {
            if (!list.isEmpty()) list.append(',');
            list.append("{\"containerID\":\"")
                    .append(a.id)
                    .append("\",\"ifname\":\"")
                    .append(a.ifName)
                    .append("\"}");
        }
        String conf = netconf(n);
        conf = conf.substring(0, conf.length() - 1) + ",\"cni.dev/valid-attachments\":[" + list + "]}";
        CniCalls.Result r = calls.call("GC", null, null, conf, false);
        tally.add("GC " + outcome(r));
        events.add("GC " + n.name + " (" + valid.size() + " valid) -> " + r.brief());
        return r;
    }

    /** STATUS of a network (also how a restarted daemon learns the network's pool target). */
    CniCalls.Result status(Network n) {
        CniCalls.Result r = calls.call("STATUS", null, null, netconf(n), false);
        tally.add("STATUS " + outcome(r));
        return r;
    }

    private static String outcome(CniCalls.Result r) {
        if (r.lost()) return "lost";
        return r.ok() ? "ok" : "code " + r.code();
    }
}
