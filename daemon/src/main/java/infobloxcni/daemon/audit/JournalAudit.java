package infobloxcni.daemon.audit;

import infobloxcni.daemon.cni.NetConf;
import infobloxcni.daemon.grid.GridNetworks;
import infobloxcni.daemon.grid.ReadyNetwork;
import infobloxcni.daemon.grid.ReservationTags;
import infobloxcni.daemon.settle.JournalRebuilder;
import infobloxcni.daemon.settle.PoolKeeper;
import infobloxcni.daemon.settle.Settler;
import infobloxcni.daemon.state.AddressPool;
import infobloxcni.daemon.state.KeyLocks;
import infobloxcni.store.Attachment;
import infobloxcni.store.AttachmentKey;
import infobloxcni.store.AttachmentState;
import infobloxcni.store.AttachmentStore;
import infobloxcni.wapi.FixedAddress;
import infobloxcni.wapi.VerifiedWrite;
import infobloxcni.wapi.WapiClient;
import infobloxcni.wapi.WapiException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.IntSupplier;

/**
 * What {@code infoblox-cni-recover} reports and repairs: every way the journal and the grid can
 * disagree for this host. It runs inside the daemon (asked over the socket) or, with the daemon
 * stopped, in the recover process itself; either way with the same key locks as requests.
 * It never touches a reservation that names another host.
 */
public final class JournalAudit {
    public enum Kind {
        /** an intent whose outcome was never recorded (ADD_PENDING, DEL_PENDING) */
        PENDING_INTENT,
        /** the journal holds an address the grid no longer reserves */
        MISSING_ON_GRID,
        /** the grid holds a reservation of this host that the journal does not know */
        ORPHAN_ON_GRID,
        /** one address held by two attachments, or one attachment holding two addresses */
        HELD_TWICE,
        /**
         * the journal's address (and ref: a ref names the address) now holds someone else's
         * reservation: another container's, another host's, one an operator made
         */
        HELD_BY_ANOTHER,
        /** an attachment whose container the runtime no longer has */
        DEAD_CONTAINER,
        /** a record that could not be checked (the detail says why); the other records were */
        NOT_CHECKED,
        /** this host's pool holds more free addresses than its target */
        POOL_SURPLUS,
        /** a pool address of a host named by --forget-host (a host that no longer exists) */
        FORGOTTEN_POOL
    }

    /** One disagreement, and what --apply did about it. */
    public record Finding(Kind kind, AttachmentKey key, String address, String detail, String repair) {
        public boolean repaired() {
            return repair != null && !repair.startsWith("FAILED");
        }
    }

    /** A container's attachment as the runtime knows it; network null means any network. */
    public record LiveAttachment(String network, String containerId, String ifName) {
        boolean matches(AttachmentKey key) {
            return containerId.equals(key.containerId())
                    && ifName.equals(key.ifName())
                    && (network == null || network.equals(key.network()));
        }
    }

    public record Report(
            List<Finding> findings, int journalRecords, int gridReservations, String liveSource, boolean applied) {}

    private final WapiClient wapi;
    private final AttachmentStore journal;
    private final Settler settler;
    private final AddressPool pool;
    private final GridNetworks networks;
    private final KeyLocks locks;
    private final KeyLocks settling;
    private final JournalRebuilder rebuilder;
    private final ReservationTags tags;
    private final PoolKeeper keeper;
    private final IntSupplier defaultPoolSize;
    private final java.time.Clock clock;
    /** When the pools' targets began to be known: the daemon's start (null: offline, no request names any network). */
    private final java.time.Instant servingSince;

    /**
     * @param locks        a request's hold on a record; {@code settling}: grid work on it (taken first)
     * @param servingSince when the daemon this audit runs in started; null for the offline audit
     */
    public JournalAudit(
            WapiClient wapi,
            AttachmentStore journal,
            Settler settler,
            AddressPool pool,
            GridNetworks networks,
            KeyLocks locks,
            KeyLocks settling,
            JournalRebuilder rebuilder,
            ReservationTags tags,
            PoolKeeper keeper,
            IntSupplier defaultPoolSize,
            java.time.Clock clock,
            java.time.Instant servingSince) {
        this.clock = clock;
        this.wapi = wapi;
        this.journal = journal;
        this.settler = settler;
        this.pool = pool;
        this.networks = networks;
        this.locks = locks;
        this.settling = settling;
        this.rebuilder = rebuilder;
        this.tags = tags;
        this.keeper = keeper;
        this.defaultPoolSize = defaultPoolSize;
        this.servingSince = servingSince;
    }

    /** The record's grid work and its record, both held: a repair is a request like any other. */
    private KeyLocks.Held hold(AttachmentKey key) {
        KeyLocks.Held grid = settling.lock(key);
        KeyLocks.Held record = locks.lock(key);
        return () -> {
            record.close();
            grid.close();
        };
    }

    /**
     * @param live       the attachments that still exist, or null when nobody can tell (then
     *                   nothing is called dead, and orphans are adopted rather than released)
     * @param apply      repair as well as report
     * @param forgetHost a host that no longer exists, whose pool addresses are to go; null: none
     */
    public Report run(List<LiveAttachment> live, String liveSource, boolean apply, String forgetHost) {
        List<Finding> findings = new ArrayList<>();
        List<FixedAddress> hostReservations = rebuilder.thisHostsReservations();
        Map<String, FixedAddress> byAddress = new HashMap<>();
        hostReservations.forEach(r -> byAddress.put(r.networkView() + "/" + r.ipv4addr(), r));

        // 1. intents that never learned their outcome
        for (Attachment a : journal.all()) {
            if (a.state() == AttachmentState.ALLOCATED || a.state() == AttachmentState.POOL) continue;
            findings.add(isolated(a, () -> repairPending(a, apply)));
        }

        // 2. journal records the grid no longer backs; 5. dead containers. What the record's
        // address holds is looked at, never trusted by ref: the ref names the address, not the holder.
        for (Attachment a : journal.all()) {
            if (a.state() != AttachmentState.ALLOCATED) continue;
            findings.add(isolated(a, () -> {
                boolean dead = live != null && live.stream().noneMatch(l -> l.matches(a.key()));
                FixedAddress onGrid = a.address() == null
                        ? null
                        : byAddress.containsKey(a.networkView() + "/" + a.address())
                                ? byAddress.get(a.networkView() + "/" + a.address())
                                : wapi.findFixedAddressByIp(a.networkView(), a.address())
                                        .orElse(null);
                if (onGrid == null) return repairMissing(a, dead, apply);
                if (!tags.owns(onGrid, a.key())) return dropHeldByAnother(a, onGrid, apply);
                return dead ? releaseDead(a, apply) : null;
            }));
        }

        // 3. this host's reservations the journal does not know
        Map<AttachmentKey, List<FixedAddress>> byKey = new LinkedHashMap<>();
        for (FixedAddress r : hostReservations) {
            AttachmentKey key = tags.keyOf(r);
            if (key != null) byKey.computeIfAbsent(key, k -> new ArrayList<>()).add(r);
        }
        for (var entry : byKey.entrySet()) {
            AttachmentKey key = entry.getKey();
            Optional<Attachment> known = journal.get(key);
            List<FixedAddress> reservations = entry.getValue();
            FixedAddress keep = known.flatMap(a -> reservations.stream()
                            .filter(r -> r.ipv4addr().equals(a.address())
                                    && r.networkView().equals(a.networkView()))
                            .findFirst())
                    .orElse(reservations.getFirst());
            for (FixedAddress extra : reservations) {
                if (extra != keep)
                    findings.add(releaseReservation(
                            Kind.HELD_TWICE, key, extra, "second reservation of the same attachment", apply));
            }
            if (known.isEmpty()) {
                boolean dead = live != null && live.stream().noneMatch(l -> l.matches(key));
                findings.add(
                        dead
                                ? releaseReservation(
                                        Kind.ORPHAN_ON_GRID,
                                        key,
                                        keep,
                                        "reserved on the grid, unknown to the journal, container gone",
                                        apply)
                                : adoptOrphan(key, keep, apply));
            }
        }

        // 4. one address in two journal records
        Map<String, AttachmentKey> holders = new HashMap<>();
        for (Attachment a : journal.all()) {
            if (a.address() == null || a.state() != AttachmentState.ALLOCATED) continue;
            String where = a.networkView() + "/" + a.address();
            AttachmentKey other = holders.putIfAbsent(where, a.key());
            if (other != null) {
                findings.add(new Finding(
                        Kind.HELD_TWICE,
                        a.key(),
                        a.address(),
                        "journal also gives this address to " + other.containerId() + "/" + other.ifName(),
                        apply ? "FAILED: needs a person: release one of the two containers" : null));
            }
        }
        // 6. the pool: entries the grid no longer backs, entries the journal lacks, entries beyond
        // the target; and the pools of a host that is gone
        auditPool(hostReservations, byAddress, apply, findings);
        if (forgetHost != null && !forgetHost.equals(tags.hostId())) forgetPools(forgetHost, apply, findings);

        findings.removeIf(java.util.Objects::isNull);
        return new Report(findings, journal.all().size(), hostReservations.size(), liveSource, apply);
    }

    /** One record's check and repair; whatever goes wrong with it becomes its finding, and the others go on. */
    private static Finding isolated(Attachment a, java.util.function.Supplier<Finding> check) {
        try {
            return check.get();
        } catch (RuntimeException e) {
            return new Finding(
                    Kind.NOT_CHECKED,
                    a.key(),
                    a.address(),
                    a.state() + " record could not be checked: " + e.getMessage(),
                    "FAILED: " + e);
        }
    }

    private void auditPool(
            List<FixedAddress> hostReservations,
            Map<String, FixedAddress> byAddress,
            boolean apply,
            List<Finding> findings) {
        Map<String, List<Attachment>> freeByNetwork = new LinkedHashMap<>();
        java.util.Set<String> recorded = new java.util.HashSet<>();
        for (Attachment a : journal.all()) {
            if (a.address() != null) recorded.add(a.networkView() + "/" + a.address());
            if (a.state() != AttachmentState.POOL) continue;
            FixedAddress onGrid = byAddress.get(a.networkView() + "/" + a.address());
            // A search is older than the journal: a refill may have reserved this entry since. Look again.
            if (onGrid == null || !tags.isPoolEntry(onGrid, a.key().network()))
                onGrid = wapi.findFixedAddressByIp(a.networkView(), a.address()).orElse(null);
            if (onGrid == null || !tags.isPoolEntry(onGrid, a.key().network())) {
                String detail = onGrid == null
                        ? "pool address the grid no longer reserves"
                        : "pool address now held by another (VM ID " + onGrid.ea(ReservationTags.VM_ID) + ", comment \""
                                + onGrid.comment() + "\")";
                findings.add(new Finding(
                        onGrid == null ? Kind.MISSING_ON_GRID : Kind.HELD_BY_ANOTHER,
                        a.key(),
                        a.address(),
                        detail,
                        apply ? dropRecord(a) : null));
            } else {
                freeByNetwork
                        .computeIfAbsent(a.key().network(), n -> new ArrayList<>())
                        .add(a);
            }
        }
        for (FixedAddress r : hostReservations) {
            String network = tags.poolNetworkOf(r);
            if (network == null || recorded.contains(r.networkView() + "/" + r.ipv4addr())) continue;
            AttachmentKey key = AddressPool.entryKey(network, r.ipv4addr());
            // With the daemon running, a refill (between the grid's answer and its record) or a release
            // may be under way: a network's refill in flight is the keeper's, and the keeper looks again.
            if (journal.get(AddressPool.refillKey(network)).isPresent()) continue;
            if (!keeper.adoptOrphan(network, r, now -> keeper.asPoolEntry(network, now, null, null), apply)) continue;
            String repair = apply ? "taken into the pool" : null;
            findings.add(new Finding(
                    Kind.ORPHAN_ON_GRID,
                    key,
                    r.ipv4addr(),
                    "this host's pool address, unknown to the journal",
                    repair));
        }
        Map<String, AddressPool.Target> targets = pool.targets();
        boolean unnamedKnown =
                servingSince != null && !clock.instant().isBefore(servingSince.plus(PoolKeeper.UNNAMED_POOL_GRACE));
        for (var entry : freeByNetwork.entrySet()) {
            String network = entry.getKey();
            AddressPool.Target named = targets.get(network);
            ReadyNetwork now = named == null ? null : networks.known(named.request());
            if (named == null && unnamedKnown) {
                for (Attachment stale : pool.free(network, null, null))
                    findings.add(surplus(
                            stale, "no request has named network " + network + " since the daemon started", apply));
                continue;
            }
            List<Attachment> free = new ArrayList<>();
            for (Attachment a : pool.free(network, null, null)) {
                if (now != null
                        && (!now.view().equals(a.networkView())
                                || !now.subnet().toString().equals(a.cidr()))) {
                    findings.add(surplus(
                            a,
                            "in subnet " + a.cidr() + " of view " + a.networkView() + "; network " + network
                                    + " now uses " + now.subnet() + " in view " + now.view(),
                            apply));
                } else {
                    free.add(a);
                }
            }
            int target = named == null ? defaultPoolSize.getAsInt() : named.size();
            for (Attachment extra : free.subList(Math.min(target, free.size()), free.size()))
                findings.add(surplus(extra, "beyond the pool's target of " + target, apply));
        }
    }

    /** A free pool address that should not be in the pool; with apply, it is released as the keeper would. */
    private Finding surplus(Attachment entry, String detail, boolean apply) {
        if (!apply) return new Finding(Kind.POOL_SURPLUS, entry.key(), entry.address(), detail, null);
        try (KeyLocks.Held held = hold(entry.key())) {
            if (!pool.markForRelease(entry, detail))
                return new Finding(Kind.POOL_SURPLUS, entry.key(), entry.address(), detail, "handed out meanwhile");
            boolean released = settler.releasePoolEntry(journal.get(entry.key()).orElseThrow());
            return new Finding(
                    Kind.POOL_SURPLUS,
                    entry.key(),
                    entry.address(),
                    detail,
                    released ? "released" : "marked for release; the daemon releases it after the refill under way");
        } catch (WapiException e) {
            return new Finding(
                    Kind.POOL_SURPLUS,
                    entry.key(),
                    entry.address(),
                    detail,
                    "FAILED (stays marked): " + e.getMessage());
        }
    }

    /**
     * The pool addresses of a host that is gone. An address a record of this host holds is left
     * alone (a container here was given it from that host's pool: this host renamed, or an
     * address handed out while the grid was down), and so is whatever this host is renamed from.
     */
    private void forgetPools(String host, boolean apply, List<Finding> findings) {
        if (host.equals(tags.formerHostId())) return; // this host's own, under its former ID: carried over
        ReservationTags theirs = tags.forHost(host);
        for (FixedAddress r :
                wapi.findFixedAddresses(null, Map.of("comment~", ReservationTags.poolCommentRegex(host)), Map.of())) {
            String network = theirs.poolNetworkOf(r);
            if (network == null || pool.isRecorded(r.networkView(), r.ipv4addr())) continue;
            AttachmentKey key = AddressPool.entryKey(network, r.ipv4addr());
            String detail = "pool address of host " + host;
            findings.add(
                    apply
                            ? releaseForgotten(key, r, theirs, detail)
                            : new Finding(Kind.FORGOTTEN_POOL, key, r.ipv4addr(), detail, null));
        }
    }

    /** Releases a pool address of a host that is gone, verified against that host's pool claim. */
    private Finding releaseForgotten(AttachmentKey key, FixedAddress seen, ReservationTags owner, String detail) {
        Kind kind = Kind.FORGOTTEN_POOL;
        String address = seen.ipv4addr();
        try (KeyLocks.Held held = hold(key)) {
            if (pool.isRecorded(seen.networkView(), seen.ipv4addr()))
                return new Finding(kind, key, address, detail, "held by a record of this host; left alone");
            VerifiedWrite w = wapi.deleteFixedAddressIf(
                    seen.networkView(), seen.ipv4addr(), List.of(owner.poolClaim(key.network())), seen);
            return new Finding(
                    kind,
                    key,
                    address,
                    detail,
                    switch (w.outcome()) {
                        case WRITTEN -> "released";
                        case ABSENT -> "already gone";
                        case HELD_BY_ANOTHER -> "no longer a free pool address; left alone";
                    });
        } catch (WapiException e) {
            return new Finding(kind, key, address, detail, "FAILED: " + e.getMessage());
        }
    }

    private String dropRecord(Attachment a) {
        try (KeyLocks.Held held = hold(a.key())) {
            journal.remove(a.key());
            return "record dropped; the grid left untouched";
        }
    }

    private Finding dropHeldByAnother(Attachment a, FixedAddress holder, boolean apply) {
        String detail = "journal says " + a.address() + ", which now holds another reservation (VM ID "
                + holder.ea(ReservationTags.VM_ID) + ", comment \"" + holder.comment() + "\")";
        if (!apply) return new Finding(Kind.HELD_BY_ANOTHER, a.key(), a.address(), detail, null);
        try (KeyLocks.Held held = hold(a.key())) {
            Attachment now = journal.get(a.key()).orElse(null);
            if (now == null || !a.address().equals(now.address()))
                return new Finding(Kind.HELD_BY_ANOTHER, a.key(), a.address(), detail, "settled meanwhile");
            journal.remove(a.key());
            return new Finding(
                    Kind.HELD_BY_ANOTHER, a.key(), a.address(), detail, "record dropped; the grid left untouched");
        }
    }

    private Finding repairPending(Attachment a, boolean apply) {
        String detail = a.state() + " since " + a.updated() + (a.lastError() == null ? "" : " (" + a.lastError() + ")");
        if (!apply) return new Finding(Kind.PENDING_INTENT, a.key(), a.address(), detail, null);
        try (KeyLocks.Held held = hold(a.key())) {
            Attachment now = journal.get(a.key()).orElse(null);
            if (now == null || now.state() == AttachmentState.ALLOCATED)
                return null; // the daemon settled it between the audit's read and now: nothing disagrees any more
            String repair = switch (now.state()) {
                case DEL_PENDING -> {
                    if (AddressPool.isPoolKey(now.key()))
                        yield settler.releasePoolEntry(now) ? "released" : "waits for the refill or release under way";
                    settler.release(now);
                    yield "released";
                }
                case TAG_PENDING ->
                    switch (settler.tag(now, settler.wasAnswered(now.key()))) {
                        case TAGGED -> "tagged on the grid";
                        case NOT_OURS -> "not this host's on the grid; see the log";
                        case CHANGED -> "settled meanwhile";
                    };
                case RETURN_PENDING -> {
                    settler.returnToPool(now);
                    yield "given back to the pool";
                }
                case POOL_PENDING -> {
                    yield keeper.settleRefill(now)
                            ? "refill settled from the grid"
                            : "waits for a release of an address the refill was handed";
                }
                default -> {
                    settler.settleUnknownAdd(now);
                    Attachment after = journal.get(now.key()).orElse(null);
                    yield after == null ? "nothing on the grid; intent dropped" : "adopted " + after.address();
                }
            };
            return new Finding(Kind.PENDING_INTENT, a.key(), a.address(), detail, repair);
        } catch (WapiException e) {
            return new Finding(Kind.PENDING_INTENT, a.key(), a.address(), detail, "FAILED: " + e.getMessage());
        }
    }

    private Finding repairMissing(Attachment a, boolean dead, boolean apply) {
        String detail = "journal says " + a.address() + " (" + a.ref() + "), the grid has no such reservation";
        if (!apply) return new Finding(Kind.MISSING_ON_GRID, a.key(), a.address(), detail, null);
        try (KeyLocks.Held held = hold(a.key())) {
            if (dead) {
                journal.remove(a.key());
                return new Finding(
                        Kind.MISSING_ON_GRID, a.key(), a.address(), detail, "container gone; record dropped");
            }
            // The container still uses the address: reserve it again so nobody else gets it.
            FixedAddress again =
                    wapi.reserveAddress(a.networkView(), a.address(), tags.forContainer(a.key(), a.mac(), null));
            journal.put(a.withRef(again.ref()));
            return new Finding(
                    Kind.MISSING_ON_GRID, a.key(), a.address(), detail, "reserved " + a.address() + " again");
        } catch (WapiException e) {
            return new Finding(Kind.MISSING_ON_GRID, a.key(), a.address(), detail, "FAILED: " + e.getMessage());
        }
    }

    private Finding releaseDead(Attachment a, boolean apply) {
        String detail = "container " + a.key().containerId() + " is not among the live attachments";
        if (!apply) return new Finding(Kind.DEAD_CONTAINER, a.key(), a.address(), detail, null);
        try (KeyLocks.Held held = hold(a.key())) {
            Attachment now = journal.get(a.key()).orElse(null);
            if (now == null || !now.equals(a) && now.state() != AttachmentState.ALLOCATED)
                return new Finding(Kind.DEAD_CONTAINER, a.key(), a.address(), detail, "settled meanwhile");
            journal.put(now.withState(AttachmentState.DEL_PENDING)); // the intent first, as a DEL writes it
            try {
                settler.release(journal.get(a.key()).orElseThrow());
                return new Finding(Kind.DEAD_CONTAINER, a.key(), a.address(), detail, "released");
            } catch (WapiException e) {
                return new Finding(
                        Kind.DEAD_CONTAINER,
                        a.key(),
                        a.address(),
                        detail,
                        "FAILED (release stays queued): " + e.getMessage());
            }
        }
    }

    private Finding adoptOrphan(AttachmentKey key, FixedAddress r, boolean apply) {
        String detail = "reserved on the grid by this host, unknown to the journal";
        try (KeyLocks.Held held = hold(key)) {
            // With the daemon running, the search may be older than a release that has finished
            // since (it removes its record after its DELETE): under the key's lock, look again.
            FixedAddress now = journal.get(key).isPresent() ? null : rebuilder.stillOwned(key, r);
            if (now == null) return null;
            if (!apply) return new Finding(Kind.ORPHAN_ON_GRID, key, r.ipv4addr(), detail, null);
            journal.put(rebuilder.adopt(key, now, null));
            return new Finding(Kind.ORPHAN_ON_GRID, key, r.ipv4addr(), detail, "adopted (container may be alive)");
        }
    }

    private Finding releaseReservation(Kind kind, AttachmentKey key, FixedAddress r, String detail, boolean apply) {
        if (!apply) return new Finding(kind, key, r.ipv4addr(), detail, null);
        try (KeyLocks.Held held = hold(key)) {
            String repair = switch (settler.releaseSeen(key, r, null)) {
                case WRITTEN -> "released";
                case ABSENT -> "already gone";
                case HELD_BY_ANOTHER -> "no longer this attachment's; left alone";
            };
            return new Finding(kind, key, r.ipv4addr(), detail, repair);
        } catch (WapiException e) {
            return new Finding(kind, key, r.ipv4addr(), detail, "FAILED: " + e.getMessage());
        }
    }

    /** Reads the live set from the runtime's CNI cache; null when there is no cache to read. */
    public static List<LiveAttachment> liveFromCniCache(java.nio.file.Path dir) {
        if (dir == null || !java.nio.file.Files.isDirectory(dir)) return null;
        return JournalRebuilder.readCniCache(dir).stream()
                .map(c -> new LiveAttachment(
                        c.key().network(), c.key().containerId(), c.key().ifName()))
                .toList();
    }

    // ---------------------------------------------------------------- the report on the wire

    public static com.fasterxml.jackson.databind.node.ObjectNode toJson(Report report) {
        var json = NetConf.JSON
                .createObjectNode()
                .put("journalRecords", report.journalRecords())
                .put("gridReservations", report.gridReservations())
                .put("liveSource", report.liveSource())
                .put("applied", report.applied());
        var list = json.putArray("findings");
        for (Finding f : report.findings()) {
            list.addObject()
                    .put("kind", f.kind().name())
                    .put("network", f.key().network())
                    .put("containerId", f.key().containerId())
                    .put("ifName", f.key().ifName())
                    .put("address", f.address())
                    .put("detail", f.detail())
                    .put("repair", f.repair());
        }
        return json;
    }

    public static Report fromJson(com.fasterxml.jackson.databind.JsonNode json) {
        List<Finding> findings = new ArrayList<>();
        for (var f : json.path("findings")) {
            findings.add(new Finding(
                    Kind.valueOf(f.path("kind").asText()),
                    new AttachmentKey(
                            f.path("network").asText(),
                            f.path("containerId").asText(),
                            f.path("ifName").asText()),
                    f.path("address").asText(null),
                    f.path("detail").asText(null),
                    f.path("repair").asText(null)));
        }
        return new Report(
                findings,
                json.path("journalRecords").asInt(),
                json.path("gridReservations").asInt(),
                json.path("liveSource").asText(null),
                json.path("applied").asBoolean());
    }

    public static List<LiveAttachment> liveFromJson(com.fasterxml.jackson.databind.JsonNode json) {
        if (json == null || !json.isArray()) return null;
        List<LiveAttachment> out = new ArrayList<>();
        for (var l : json)
            out.add(new LiveAttachment(
                    l.path("network").asText(null),
                    l.path("containerId").asText(),
                    l.path("ifName").asText()));
        return out;
    }

    public static com.fasterxml.jackson.databind.node.ArrayNode liveToJson(List<LiveAttachment> live) {
        var out = NetConf.JSON.createArrayNode();
        for (LiveAttachment l : live)
            out.addObject()
                    .put("network", l.network())
                    .put("containerId", l.containerId())
                    .put("ifName", l.ifName());
        return out;
    }
}
