package infobloxcni.daemon;

import static infobloxcni.daemon.Findings.I1;
import static infobloxcni.daemon.Findings.I2;
import static infobloxcni.daemon.Findings.I3;
import static infobloxcni.daemon.Findings.I4;
import static infobloxcni.daemon.Findings.I5;
import static infobloxcni.daemon.Findings.I6;

import com.fasterxml.jackson.databind.JsonNode;
import infobloxcni.daemon.RuntimeModel.Attachment;
import infobloxcni.daemon.RuntimeModel.Network;
import infobloxcni.daemon.audit.JournalAudit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * The intended behaviour, as checks of the grid (the truth), the runtime's model and the daemon's
 * own reports. Each method is one invariant (or one part of one); a violation goes to the
 * {@link Findings} with the step, the grid object involved and the events that led there.
 */
final class Invariants {
    private final RuntimeModel model;
    private final List<Network> networks;
    private final GridObjects grid;
    private final GridOperator operator;
    private final EventLog events;
    private final Findings findings;
    private final Supplier<List<String>> hostIds;
    private final Supplier<String> stepKind;
    private final java.util.function.LongSupplier journalLostAt;

    Invariants(
            RuntimeModel model,
            List<Network> networks,
            GridObjects grid,
            GridOperator operator,
            EventLog events,
            Findings findings,
            Supplier<List<String>> hostIds,
            Supplier<String> stepKind,
            java.util.function.LongSupplier journalLostAt) {
        this.model = model;
        this.networks = networks;
        this.grid = grid;
        this.operator = operator;
        this.events = events;
        this.findings = findings;
        this.hostIds = hostIds;
        this.stepKind = stepKind;
        this.journalLostAt = journalLostAt;
    }

    // ------------------------------------------------------------------------ 1

    /**
     * Invariant 1, at once: an ADD answered while the grid was not in an injected outage was
     * answered only once the grid held the address for that container. Skipped for an address an
     * operator action touched since the ADD was sent.
     */
    void answeredAddressIsHeld(Attachment a, String address) {
        findings.checked(I1);
        if (address == null) {
            violation(
                    I1,
                    "1: ADD answered success without an address",
                    a,
                    "1|" + a.label() + "|no address",
                    "ADD answered success without an address",
                    null,
                    a.label());
            return;
        }
        if (operator.touchedSince(address, a.addStartedSeq) != null) return;
        Map<String, Object> holder = grid.at(address);
        if (!GridObjects.oursFor(holder, hostIds.get(), a.network.name, a.id, a.ifName)) {
            if (holder == null || !GridObjects.poolEntryOf(holder, hostIds.get(), a.network.name)) {
                // not a tag still on its way: the container runs on an address that is not its own, and
                // from now on the daemon is only asked to say so (CHECK, the audit), as after an operator's action
                synchronized (model) {
                    a.takenSeq = events.now();
                }
            }
            violation(
                    I1,
                    "1: ADD answered, the grid holds " + kindOf(holder, a),
                    a,
                    held(a, address, holder),
                    "ADD was answered " + address + " (subnet " + a.network.subnet() + "), but right after the answer "
                            + "the grid holds " + whose(holder, a),
                    holder,
                    address,
                    a.label());
        }
    }

    // ------------------------------------------------------------------------ 6

    /** Invariant 6, at once, outages included (the pool keeps to the scope too): the address is one the netconf allows. */
    void answeredAddressIsInScope(Attachment a, String cidr, String address) {
        findings.checked(I6);
        if (address == null || a.network.allows(cidr, address)) return;
        violation(
                I6,
                "6: ADD answered an address the netconf does not allow",
                a,
                "6|" + a.label() + "|" + address,
                "ADD was answered " + address + " for a netconf naming " + cidr
                        + (a.network.ranged ? " with a range and an excluded address" : ""),
                grid.at(address),
                address,
                a.label());
    }

    /**
     * Invariant 1, once the daemon has settled: an ADD answered during an outage (perhaps from the
     * pool with no grid call) now holds its address on the grid; or, when an operator touched the
     * address meanwhile, the daemon says so (the audit lists it, or CHECK fails).
     */
    void outageAnswersSettled(
            JournalAudit.Report audit, java.util.function.Function<Attachment, CniCalls.Result> check) {
        for (Attachment a : model.live()) {
            if (!a.exempt || a.confirmed) continue;
            findings.checked(I1);
            Map<String, Object> holder = grid.at(a.address);
            boolean held = GridObjects.oursFor(holder, hostIds.get(), a.network.name, a.id, a.ifName);
            boolean touched = operator.openTouches().contains(a.address)
                    || operator.touchedSince(a.address, a.addStartedSeq) != null;
            if (!held && touched) {
                synchronized (model) {
                    a.takenSeq = a.addStartedSeq; // the operator's doing: from now on the daemon is asked to say so
                }
                if (!reported(audit, a)) {
                    CniCalls.Result r = check.apply(a);
                    if (r.ok()) {
                        violation(
                                I1,
                                "1: answered in an outage, an operator took the address, nobody says so",
                                a,
                                "1|" + a.label() + "@" + a.address + "|unreported",
                                "answered " + a.address + " during an outage; an operator changed that address "
                                        + "meanwhile and the grid holds " + whose(holder, a)
                                        + ", yet neither the audit nor CHECK says so (CHECK answered ok)",
                                holder,
                                a.address,
                                a.label());
                    }
                }
            } else if (!held) {
                violation(
                        I1,
                        "1: answered in an outage, after settling the grid holds " + kindOf(holder, a),
                        a,
                        held(a, a.address, holder),
                        "answered " + a.address + " during an outage; after the grid came back and the daemon "
                                + "settled, the grid holds " + whose(holder, a),
                        holder,
                        a.address,
                        a.label());
            }
            synchronized (model) {
                a.confirmed = true; // from now on invariant 2 watches it
            }
        }
    }

    // ------------------------------------------------------------------------ 2

    /** Invariant 2: every live container's address stays held for it, unless an operator action took it. */
    void liveAttachmentsStayHeld() {
        Map<String, Map<String, Object>> byAddress = grid.byAddress();
        for (Attachment a : model.live()) {
            if (!a.confirmed || touched(a)) continue;
            findings.checked(I2);
            Map<String, Object> holder = byAddress.get(a.address);
            if (!heldFor(holder, a)) {
                violation(
                        I2,
                        "2: a live container's address, the grid holds " + kindOf(holder, a),
                        a,
                        held(a, a.address, holder),
                        "live since its ADD was answered " + a.address + ", but the grid now holds " + whose(holder, a),
                        holder,
                        a.address,
                        a.label());
            }
        }
    }

    /**
     * Invariant 2, as CHECK tells it: CHECK of a live container succeeds while the grid holds its
     * reservation and fails once it does not (an operator deleted or re-reserved it). "Try again"
     * and lost answers say nothing.
     */
    void checkAgreesWithTheGrid(Attachment a, CniCalls.Result r, long sentSeq) {
        if (r.lost() || r.code() == infobloxcni.wire.CniError.TRY_AGAIN_LATER) return;
        if (operator.touchedSince(a.address, sentSeq) != null) return; // changed while CHECK looked
        if (!a.confirmed && !touched(a)) return; // answered during an outage, not settled yet
        findings.checked(I2);
        Map<String, Object> holder = grid.at(a.address);
        boolean held = heldFor(holder, a);
        if (held && !r.ok()) {
            violation(
                    I2,
                    "2: CHECK fails while the grid holds the reservation",
                    a,
                    "2|" + a.label() + "|check fails",
                    "CHECK failed (" + r.brief() + ") although the grid holds its reservation",
                    holder,
                    a.address,
                    a.label());
        } else if (!held && r.ok()) {
            violation(
                    I2,
                    "2: CHECK passes while the grid holds " + kindOf(holder, a),
                    a,
                    "2|" + a.label() + "@" + a.address + "|check passes " + GridObjects.signature(holder),
                    "CHECK succeeded although the grid holds " + whose(holder, a) + " at its address " + a.address,
                    holder,
                    a.address,
                    a.label());
        }
    }

    /**
     * Invariant 2, for containers an operator took the address of: the daemon reports them (the
     * audit lists them, CHECK fails).
     */
    void touchedAttachmentsAreReported(
            JournalAudit.Report audit, java.util.function.Function<Attachment, CniCalls.Result> check) {
        for (Attachment a : model.live()) {
            if (!a.confirmed || !touched(a)) continue;
            Map<String, Object> holder = grid.at(a.address);
            if (heldFor(holder, a)) continue; // the daemon (the audit's repair, a re-reservation) gave it back
            findings.checked(I2);
            // the audit can only tell of what the journal knows: not of the original driver's
            // reservations it never adopted, nor of a container whose record a lost journal took along
            boolean auditCanKnow = !a.migrated && journalLostAt.getAsLong() < takenAt(a);
            if (auditCanKnow && !reported(audit, a)) {
                violation(
                        I2,
                        "2: an operator took a live container's address, the audit is silent",
                        a,
                        "2|" + a.label() + "|audit silent",
                        "an operator took its address " + a.address + " (the grid holds " + whose(holder, a)
                                + ") and the audit does not report it",
                        holder,
                        a.address,
                        a.label());
            }
            CniCalls.Result r = check.apply(a);
            checkAgreesWithTheGrid(a, r, events.now());
        }
    }

    // ------------------------------------------------------------------------ 3

    /** Invariant 3: every foreign object still exists, unchanged, unless the runtime asked for its release. */
    void foreignObjectsUntouched() {
        for (GridOperator.Foreign f : operator.foreign()) {
            findings.checked(I3);
            Map<String, Object> now = grid.byRef(f.ref());
            if (Objects.equals(now, f.made())) continue;
            String what = now == null
                    ? f.describe() + " was deleted"
                    : f.describe() + " was changed or replaced: now " + GridObjects.describe(now);
            violation(
                    I3,
                    "3: " + f.kind() + (now == null ? " deleted" : " changed"),
                    f.address(),
                    "3|" + f.ref() + "|" + GridObjects.signature(now),
                    what + " (made as " + GridObjects.describe(f.made()) + ")",
                    now,
                    f.address(),
                    f.containerId());
            operator.mayGo(f); // reported once
        }
    }

    // ------------------------------------------------------------------------ 4

    /** Invariant 4: no two live containers were answered the same address (outside operator actions). */
    void noAddressHeldTwice() {
        Map<String, Attachment> byAddress = new HashMap<>();
        for (Attachment a : model.live()) {
            if (a.address == null || touched(a)) continue;
            findings.checked(I4);
            Attachment other = byAddress.putIfAbsent(a.address, a);
            if (other != null) {
                violation(
                        I4,
                        "4: one address answered to two live containers",
                        a,
                        "4|" + a.address + "|" + other.label() + "|" + a.label(),
                        a.address + " was answered to " + other.label() + " and to " + a.label() + ", both live",
                        grid.at(a.address),
                        a.address,
                        a.label(),
                        other.label());
            }
        }
    }

    // ------------------------------------------------------------------------ 5

    /**
     * Invariant 5, on the grid: every reservation that names this machine's host belongs to a live
     * container at its answered address, or is a free pool entry, at most the pool's target per
     * network and subnet in use; every live container holds exactly one reservation, at its address.
     */
    void noLeakNothingMissing() {
        List<String> ids = hostIds.get();
        List<Map<String, Object>> all = grid.all();
        Set<String> touchedAddresses = operator.openTouches(); // what follows from an operator's action is excused
        Map<String, Integer> poolEntries = new TreeMap<>();
        Map<String, List<Map<String, Object>>> poolObjects = new HashMap<>();
        for (Map<String, Object> r : all) {
            GridObjects.Owner o = GridObjects.owner(r);
            if (o == null || !ids.contains(o.host())) continue;
            findings.checked(I5);
            String address = GridObjects.address(r);
            if (touchedAddresses.contains(address)) continue;
            if (o.pool()) {
                String group = o.network() + " " + GridObjects.network(r);
                poolEntries.merge(group, 1, Integer::sum);
                poolObjects.computeIfAbsent(group, g -> new ArrayList<>()).add(r);
                continue;
            }
            String vm = GridObjects.vmId(r);
            Attachment a = vm == null ? null : liveAttachment(o.network(), vm, o.ifName());
            if (a != null && touched(a)) continue;
            if (a == null) {
                violation(
                        I5,
                        "5: LEAK: a reservation of this host for no live container",
                        address,
                        "5|leak|" + r.get("_ref") + "|" + vm,
                        "LEAK: " + GridObjects.describe(r) + " names this host, but no live container is " + o.network()
                                + "/" + vm + "/" + o.ifName(),
                        r,
                        address,
                        vm,
                        o.network() + "/" + vm + "/" + o.ifName());
            } else if (!address.equals(a.address)) {
                violation(
                        I5,
                        "5: LEAK: a second reservation of a live container",
                        a,
                        "5|leak|" + r.get("_ref") + "|" + vm,
                        "LEAK: " + a.label() + " was answered " + a.address + " but the grid also holds "
                                + GridObjects.describe(r) + " for it",
                        r,
                        address,
                        a.label());
            }
        }
        for (var e : poolEntries.entrySet()) {
            String[] group = e.getKey().split(" ");
            Network n = network(group[0]);
            int allowed = n == null ? 0 : subnetInUse(n, group[1]) ? n.poolSize : 0;
            if (e.getValue() > allowed) {
                List<String> addresses = poolObjects.get(e.getKey()).stream()
                        .map(GridObjects::address)
                        .toList();
                violation(
                        I5,
                        "5: LEAK: pool entries beyond the target",
                        "pool of " + e.getKey(),
                        "5|pool|" + e.getKey() + "|" + e.getValue(),
                        "LEAK: " + e.getValue() + " free pool entries of network " + group[0] + " in subnet "
                                + group[1] + " (target " + allowed + (allowed == 0 ? ": no pool in use there" : "")
                                + "): " + addresses,
                        poolObjects.get(e.getKey()).getFirst(),
                        addresses.toArray(String[]::new));
            }
        }
        for (Attachment a : model.live()) {
            if (!a.confirmed || touched(a)) continue;
            findings.checked(I5);
            List<Map<String, Object>> held = all.stream()
                    .filter(r -> GridObjects.oursFor(r, ids, a.network.name, a.id, a.ifName)
                            || a.migrated
                                    && GridObjects.originalDriversFor(r, a.id)
                                    && Objects.equals(GridObjects.network(r), a.cidr))
                    .toList();
            if (held.size() != 1 || !GridObjects.address(held.getFirst()).equals(a.address)) {
                violation(
                        I5,
                        "5: MISSING: a live container does not hold exactly its one reservation",
                        a,
                        "5|" + a.label() + "|holds " + held.size(),
                        "MISSING: live, answered " + a.address + ", but the grid holds " + held.size()
                                + " reservation(s) for it: "
                                + held.stream().map(GridObjects::describe).toList(),
                        held.isEmpty() ? grid.at(a.address) : held.getFirst(),
                        a.address,
                        a.label());
            }
        }
    }

    /**
     * Invariant 5, "nothing missing", for the pool, after any step: a free pool address of the
     * journal is held on the grid by this host's pool entry. No order of a correct daemon's writes
     * shows otherwise (a refill records its address after the grid reserved it; a release drops
     * the record before it deletes), so the grid is read before and after the journal, and only an
     * address missing both times counts; an address an operator touched is excused.
     */
    void freePoolEntriesAreBacked(Supplier<JsonNode> journal) {
        Set<String> before = grid.byAddress().keySet();
        JsonNode records = journal.get();
        Map<String, Map<String, Object>> after = grid.byAddress();
        Set<String> touched = operator.openTouches();
        for (JsonNode r : records) {
            if (!"POOL".equals(r.path("state").asText())) continue;
            findings.checked(I5);
            String address = r.path("address").asText();
            String network = r.path("network").asText();
            if (before.contains(address) || touched.contains(address)) continue;
            Map<String, Object> holder = after.get(address);
            if (GridObjects.poolEntryOf(holder, hostIds.get(), network)) continue;
            if (holder != null) continue; // someone else's: for the audit (held by another) once settled
            violation(
                    I5,
                    "5: MISSING: a free pool address of the journal is not reserved on the grid",
                    network + "/~pool/" + address,
                    "5|pool missing|" + network + "|" + address,
                    "the journal lists " + address + " as a free pool address of " + network
                            + ", but the grid holds nothing there (an ADD would be answered it)",
                    null,
                    address);
        }
    }

    /**
     * Invariant 5, in the daemon's words: the recover command's audit finds nothing but what the
     * operator's actions caused. Then forgets the operator actions the daemon no longer reports.
     */
    void auditIsClean(JournalAudit.Report audit) {
        Set<String> open = operator.openTouches();
        Set<String> stillReported = new java.util.HashSet<>();
        for (JournalAudit.Finding f : audit.findings()) {
            findings.checked(I5);
            boolean excused = (f.address() != null && open.contains(f.address())) || touchedLiveKey(f);
            if (f.address() != null) stillReported.add(f.address());
            if (excused) continue;
            violation(
                    I5,
                    "5: the audit reports " + f.kind(),
                    f.key().network() + "/" + f.key().containerId() + "/"
                            + f.key().ifName(),
                    "5|audit|" + f.kind() + "|" + f.key() + "|" + f.address(),
                    "the audit reports " + f.kind() + " at " + f.address() + ": " + f.detail(),
                    f.address() == null ? null : grid.at(f.address()),
                    f.address(),
                    f.key().containerId(),
                    f.key().network() + "/" + f.key().containerId() + "/"
                            + f.key().ifName());
        }
        if (audit.findings().isEmpty()) findings.checked(I5);
        for (String address : open) {
            boolean usedByTouched = model.live().stream().anyMatch(a -> address.equals(a.address) && touched(a));
            if (!stillReported.contains(address) && !usedByTouched) operator.closeTouch(address);
        }
    }

    /** Invariant 5: the daemon settles (nothing pending, pools at their targets) within the bound. */
    void settled(boolean settled, JsonNode status, String why) {
        findings.checked(I5);
        if (settled) return;
        violation(
                I5,
                "5: the daemon did not settle",
                "the daemon",
                "5|unsettled|" + why,
                "the daemon did not settle: " + why,
                null,
                DaemonUnderTest.pending(status).toArray(String[]::new));
    }

    // ------------------------------------------------------------------------ helpers

    /** One wrong state of an attachment's address (invariants 1 and 2 see the same one). */
    private static String held(Attachment a, String address, Map<String, Object> holder) {
        return "held|" + a.label() + "@" + address + "|" + GridObjects.signature(holder);
    }

    /**
     * Whether the attachment's address is not its own through no fault the daemon could have
     * avoided: an operator action took it after the ADD was sent, or during the outage it was
     * answered in; or an answer already reported (invariant 1) gave it an address someone else holds.
     */
    boolean touched(Attachment a) {
        return takenAt(a) != 0;
    }

    /** When the attachment's address was taken from it (0: it was not). */
    private long takenAt(Attachment a) {
        if (a.takenSeq != 0) return a.takenSeq;
        GridOperator.Touch t = a.address == null ? null : operator.touchedSince(a.address, a.addStartedSeq);
        return t == null ? 0 : t.began;
    }

    /** Held for a live attachment: ours, or the original driver's for a migrated one. */
    private boolean heldFor(Map<String, Object> holder, Attachment a) {
        return GridObjects.oursFor(holder, hostIds.get(), a.network.name, a.id, a.ifName)
                || a.migrated && GridObjects.originalDriversFor(holder, a.id);
    }

    private boolean reported(JournalAudit.Report audit, Attachment a) {
        return audit.findings().stream()
                .anyMatch(f -> f.key().equals(a.key()) || Objects.equals(f.address(), a.address));
    }

    private boolean touchedLiveKey(JournalAudit.Finding f) {
        return model.live().stream().anyMatch(a -> a.key().equals(f.key()) && touched(a));
    }

    private Attachment liveAttachment(String network, String containerId, String ifName) {
        for (Attachment a : model.live())
            if (a.network.name.equals(network) && a.id.equals(containerId) && a.ifName.equals(ifName)) return a;
        return null;
    }

    private Network network(String name) {
        for (Network n : networks) if (n.name.equals(name)) return n;
        return null;
    }

    /** The netconf's subnet, or one a live container of the network still has its address in. */
    private boolean subnetInUse(Network n, String cidr) {
        if (n.subnet().equals(cidr)) return true;
        return model.live().stream().anyMatch(a -> a.network == n && cidr.equals(a.cidr));
    }

    /** "nothing", or the holder and what it is, for a failure message. */
    private String whose(Map<String, Object> holder, Attachment a) {
        return holder == null ? "nothing at that address" : kindOf(holder, a) + ": " + GridObjects.describe(holder);
    }

    /** What holds an attachment's address instead of its reservation, in a few words. */
    private String kindOf(Map<String, Object> holder, Attachment a) {
        if (holder == null) return "nothing";
        if (GridObjects.poolEntryOf(holder, hostIds.get(), a.network.name)) return "this host's free pool entry";
        if (a.id.equals(GridObjects.vmId(holder)) && GridObjects.comment(holder) == null)
            return "a reservation of the container without this driver's comment";
        if (a.id.equals(GridObjects.vmId(holder))) return "a reservation of the container under another comment";
        if (GridObjects.vmId(holder) != null) return "someone else's reservation";
        return "a reservation that is not this container's";
    }

    private void violation(
            String invariant,
            String label,
            Attachment a,
            String sameAs,
            String what,
            Map<String, Object> holder,
            String... subjects) {
        violation(invariant, label, a.label(), sameAs, what, holder, subjects);
    }

    private void violation(
            String invariant,
            String label,
            String subject,
            String sameAs,
            String what,
            Map<String, Object> holder,
            String... subjects) {
        findings.violation(
                events.step(),
                stepKind.get(),
                invariant,
                label,
                subject,
                sameAs,
                what,
                holder == null ? null : GridObjects.describe(holder),
                events.about(14, subjects));
    }
}
