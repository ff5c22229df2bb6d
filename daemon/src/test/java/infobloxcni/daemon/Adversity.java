package infobloxcni.daemon;

import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;

/**
 * The kinds of grid-side adversity {@link AdversarialTest} may inflict, by the names
 * {@code -Dadversarial.faults=} takes (a comma list of names and groups; default: all). Runtime
 * traffic (ADD, DEL, CHECK, GC, STATUS, stale cache entries) is never restricted: it is what the
 * adversity happens to.
 */
enum Adversity {
    /** an operator deletes one of this host's free pool reservations */
    OPERATOR_DELETE_POOL("operator-delete-pool"),
    /** an operator deletes a live container's reservation */
    OPERATOR_DELETE_RESERVATION("operator-delete-reservation"),
    /** an operator reserves a free pool address, a freed address or a container's address for a printer */
    OPERATOR_REASSIGN("operator-reassign"),
    /** reservations of others with our containers' VM IDs: another host, another platform, the original driver */
    FOREIGN("foreign"),
    /** a write is applied, then answered 502, 503 or 504 */
    FAIL_AFTER_COMMIT("fail-after"),
    /** a write is applied, then its answer is lost (connection reset) */
    DROP_AFTER_COMMIT("drop-after"),
    /** the grid hangs: connections accepted, nothing answered */
    HANG("hang"),
    /** the grid refuses connections and resets the open ones */
    REFUSE("refuse"),
    /** the daemon is killed with SIGKILL (under load) and restarted on the same state */
    KILL9("kill9"),
    /** the daemon is stopped, its journal deleted, and restarted */
    JOURNAL_LOSS("journal-loss"),
    /** a network's netconf gets a new subnet under the same name */
    SUBNET_CHANGE("subnet-change"),
    /** the daemon is restarted with a new --host-id */
    HOST_RENAME("host-rename");

    final String flag;

    Adversity(String flag) {
        this.flag = flag;
    }

    /** Parses the {@code -Dadversarial.faults} list: names above, or the groups operator, outage, lost-write, restart, all. */
    static Set<Adversity> parse(String list) {
        if (list == null || list.isBlank()) return EnumSet.allOf(Adversity.class);
        Set<Adversity> out = EnumSet.noneOf(Adversity.class);
        for (String raw : list.split(",")) {
            String name = raw.trim().toLowerCase(Locale.ROOT);
            if (name.isEmpty()) continue;
            switch (name) {
                case "all" -> out.addAll(EnumSet.allOf(Adversity.class));
                case "none" -> {}
                case "operator" ->
                    out.addAll(EnumSet.of(OPERATOR_DELETE_POOL, OPERATOR_DELETE_RESERVATION, OPERATOR_REASSIGN));
                case "outage" -> out.addAll(EnumSet.of(HANG, REFUSE));
                case "lost-write" -> out.addAll(EnumSet.of(FAIL_AFTER_COMMIT, DROP_AFTER_COMMIT));
                case "restart" -> out.addAll(EnumSet.of(KILL9, JOURNAL_LOSS, HOST_RENAME));
                default -> out.add(byFlag(name));
            }
        }
        return out;
    }

    private static Adversity byFlag(String name) {
        for (Adversity a : values()) if (a.flag.equals(name) || a.name().equalsIgnoreCase(name)) return a;
        throw new IllegalArgumentException("unknown fault kind '" + name + "' in -Dadversarial.faults; known: "
                + java.util.Arrays.stream(values()).map(a -> a.flag).toList()
                + " and the groups operator, outage, lost-write, restart, all, none");
    }
}
