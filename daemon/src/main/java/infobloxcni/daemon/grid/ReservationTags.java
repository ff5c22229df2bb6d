package infobloxcni.daemon.grid;

import infobloxcni.store.AttachmentKey;
import infobloxcni.wapi.FixedAddress;
import infobloxcni.wapi.FixedAddressSpec;
import infobloxcni.wapi.ReservationClaim;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How a reservation on the grid names its owner, so that it can always be traced back to one
 * (host, network, container, interface):
 * <ul>
 *   <li>EA {@code VM ID} = container ID (the original driver's convention, kept for migration);</li>
 *   <li>{@code comment} = {@code infoblox-cni host=<host-id> net=<network name> if=<ifname>}: the
 *       parts no cloud EA holds. A comment needs no EA definition on the grid and WAPI can search
 *       it by regular expression, which is how a host finds its own reservations.</li>
 * </ul>
 */
public final class ReservationTags {
    public static final String VM_ID = "VM ID";
    public static final String VM_NAME = "VM Name";
    public static final String TENANT_ID = "Tenant ID";
    public static final String CMP_TYPE = "CMP Type";
    public static final String CLOUD_API_OWNED = "Cloud API Owned";
    public static final String NETWORK_NAME = "Network Name";
    public static final List<String> REQUIRED_EAS =
            List.of(VM_ID, VM_NAME, TENANT_ID, CMP_TYPE, CLOUD_API_OWNED, NETWORK_NAME);
    /** VM ID of reservations that belong to no container (gateways), as the original driver wrote it. */
    public static final String NO_CONTAINER = "N/A";

    private static final Pattern COMMENT = Pattern.compile("^infoblox-cni host=(\\S+) net=(\\S+) if=(\\S+)");
    private static final Pattern POOL_COMMENT = Pattern.compile("^infoblox-cni host=(\\S+) net=(\\S+) pool$");

    /** The owner written in a reservation's comment. */
    public record Owner(String hostId, String network, String ifName) {}

    private final String hostId;
    private final String clusterName;
    private final String cmpType;
    /** The host ID this host had before it was renamed, while its reservations still carry it; null: none. */
    private volatile String formerHostId;

    public ReservationTags(String hostId, String clusterName, String cmpType) {
        this(hostId, clusterName, cmpType, null);
    }

    /**
     * @param formerHostId this host's ID before a rename ({@link HostIdentity}): its reservations
     *                     are this host's too until they are retagged; null when not renamed
     */
    public ReservationTags(String hostId, String clusterName, String cmpType, String formerHostId) {
        this.hostId = hostId;
        this.clusterName = clusterName;
        this.cmpType = cmpType;
        this.formerHostId = formerHostId == null || formerHostId.equals(hostId) ? null : formerHostId;
    }

    public String hostId() {
        return hostId;
    }

    /** The ID this host had before it was renamed, while reservations may still carry it; null: none. */
    public String formerHostId() {
        return formerHostId;
    }

    /** The host IDs whose reservations are this host's: its own, and the former one until the rename is done. */
    private List<String> hostIds() {
        String former = formerHostId;
        return former == null ? List.of(hostId) : List.of(hostId, former);
    }

    /** The same tags as another host writes them (to recognise that host's pool, for the recover command). */
    public ReservationTags forHost(String otherHost) {
        return new ReservationTags(otherHost, clusterName, cmpType);
    }

    /** The rename is done: no reservation carries the former ID any more, and none is this host's by it. */
    public void forgetFormerHostId() {
        formerHostId = null;
    }

    /** What a container's reservation carries. */
    public FixedAddressSpec forContainer(AttachmentKey key, String mac, String podName) {
        Map<String, String> eas = new LinkedHashMap<>();
        eas.put(VM_ID, key.containerId());
        eas.put(TENANT_ID, clusterName);
        eas.put(CMP_TYPE, cmpType);
        eas.put(CLOUD_API_OWNED, "True");
        if (podName != null) eas.put(VM_NAME, podName);
        return new FixedAddressSpec(mac, podName, comment(key), null, eas);
    }

    /** What a gateway reservation carries: reserved, tied to no container. */
    FixedAddressSpec forGateway(String networkName) {
        return new FixedAddressSpec(
                FixedAddressSpec.NO_MAC,
                null,
                "infoblox-cni gateway of network " + networkName,
                "RESERVED",
                Map.of(VM_ID, NO_CONTAINER, TENANT_ID, clusterName, CLOUD_API_OWNED, "True"));
    }

    String comment(AttachmentKey key) {
        return comment(hostId, key);
    }

    private static String comment(String host, AttachmentKey key) {
        return "infoblox-cni host=" + host + " net=" + key.network() + " if=" + key.ifName();
    }

    // ------------------------------------------------------------------------- the warm pool

    /**
     * The comment of this host's free pool address in a network. A pool address carries no
     * {@code VM ID} (it belongs to no container yet), and the cloud EAs of ownership.
     */
    public String poolComment(String network) {
        return poolComment(hostId, network);
    }

    private static String poolComment(String host, String network) {
        return "infoblox-cni host=" + host + " net=" + network + " pool";
    }

    /** What a free pool address carries. */
    public FixedAddressSpec forPool(String network) {
        return new FixedAddressSpec(
                FixedAddressSpec.NO_MAC,
                null,
                poolComment(network),
                null,
                Map.of(TENANT_ID, clusterName, CMP_TYPE, cmpType, CLOUD_API_OWNED, "True"));
    }

    /** This host's free pool address of the network: the only thing an ADD from the pool may retag. */
    public ReservationClaim poolClaim(String network) {
        return poolClaimOf(hostId, network);
    }

    private ReservationClaim poolClaimOf(String host, String network) {
        return new ReservationClaim(
                poolComment(host, network), Map.of(TENANT_ID, clusterName, CLOUD_API_OWNED, "True"));
    }

    /** This host's free pool address of the network, as it is written now or was before the host was renamed. */
    List<ReservationClaim> poolClaims(String network) {
        return hostIds().stream().map(h -> poolClaimOf(h, network)).toList();
    }

    /** Whether {@code r} is this host's free pool address of the network (under its ID or its former one). */
    public boolean isPoolEntry(FixedAddress r, String network) {
        return poolClaims(network).stream().anyMatch(c -> c.matches(r));
    }

    /** What turns a pool address into the container's reservation (EAs are merged in). */
    public FixedAddressSpec tagFor(AttachmentKey key, String mac, String podName) {
        Map<String, String> eas = new LinkedHashMap<>();
        eas.put(VM_ID, key.containerId());
        if (podName != null) eas.put(VM_NAME, podName);
        return new FixedAddressSpec(mac == null ? FixedAddressSpec.NO_MAC : mac, podName, comment(key), null, eas);
    }

    /** What turns a container's reservation back into a free pool address (its container EAs are removed). */
    public FixedAddressSpec untagFor(String network) {
        return new FixedAddressSpec(FixedAddressSpec.NO_MAC, "", poolComment(network), null, Map.of());
    }

    /** The EAs a container's reservation has and a pool address must not. */
    public static final List<String> CONTAINER_EAS = List.of(VM_ID, VM_NAME);

    /** The network of this host's pool address, or null when {@code r} is none. */
    public String poolNetworkOf(FixedAddress r) {
        if (r.comment() == null) return null;
        Matcher m = POOL_COMMENT.matcher(r.comment());
        return m.matches() && hostIds().contains(m.group(1)) && r.ea(VM_ID) == null ? m.group(2) : null;
    }

    /** A WAPI regular expression matching the pool addresses of a host (any network). */
    public static String poolCommentRegex(String hostId) {
        return "^infoblox-cni host=" + hostId.replace(".", "\\.") + " net=\\S+ pool$";
    }

    /** A WAPI regular expression matching the comments of this host's reservations (optionally one network). */
    public String thisHostCommentRegex(String network) {
        return commentRegexOf(hostId, network);
    }

    /** The regular expressions of this host's reservations: under its ID, and its former one until the rename is done. */
    public List<String> hostCommentRegexes(String network) {
        return hostIds().stream().map(h -> commentRegexOf(h, network)).toList();
    }

    /** A WAPI regular expression matching the comments of a host's reservations (optionally one network). */
    public static String commentRegexOf(String host, String network) {
        // Host IDs and network names hold only letters, digits, '_', '.', '-': only '.' needs escaping.
        return "^infoblox-cni host=" + host.replace(".", "\\.") + " net="
                + (network == null ? "" : network.replace(".", "\\.") + " ");
    }

    /**
     * What a reservation of this host's former ID becomes once the host is renamed: the same
     * comment under the new ID. Null when {@code r} carries no former-ID comment.
     */
    public String renamedComment(FixedAddress r) {
        String former = formerHostId;
        if (former == null || r.comment() == null) return null;
        String from = "infoblox-cni host=" + former + " ";
        return r.comment().startsWith(from)
                ? "infoblox-cni host=" + hostId + " " + r.comment().substring(from.length())
                : null;
    }

    public static Optional<Owner> ownerOf(FixedAddress reservation) {
        if (reservation.comment() == null) return Optional.empty();
        Matcher m = COMMENT.matcher(reservation.comment());
        return m.find() ? Optional.of(new Owner(m.group(1), m.group(2), m.group(3))) : Optional.empty();
    }

    /**
     * The only reservations this host may adopt, change or release for an attachment:
     * <ul>
     *   <li>ours: comment exactly {@code infoblox-cni host=<this host> net=<network> if=<ifname>}
     *       and {@code VM ID} = the container ID;</li>
     *   <li>the original driver's (it wrote no comment): {@code VM ID}, {@code CMP Type},
     *       {@code Tenant ID} (= --cluster-name) and {@code Cloud API Owned} all as it wrote them,
     *       so that migration adopts instead of duplicating, while another cloud platform's
     *       reservation that happens to carry the same {@code VM ID} is never touched.</li>
     * </ul>
     * Another host's reservation, a gateway, a printer an operator reserved on a freed address:
     * none matches, whatever its ref.
     */
    public List<ReservationClaim> claimsOf(AttachmentKey key, String cidr) {
        List<ReservationClaim> claims = new java.util.ArrayList<>();
        for (String host : hostIds())
            claims.add(new ReservationClaim(comment(host, key), Map.of(VM_ID, key.containerId())));
        if (cidr != null) {
            // No comment names the original driver's network: only its subnet tells one network's from another's.
            claims.add(new ReservationClaim(
                    null,
                    Map.of(
                            VM_ID,
                            key.containerId(),
                            CMP_TYPE,
                            cmpType,
                            TENANT_ID,
                            clusterName,
                            CLOUD_API_OWNED,
                            "True"),
                    cidr));
        }
        return claims;
    }

    /**
     * Whether {@code reservation}, found where it is (its address came from elsewhere: the
     * runtime's prevResult or cache, the journal), is this attachment's: {@link #claimsOf} in its
     * own network.
     */
    public boolean owns(FixedAddress reservation, AttachmentKey key) {
        return claimsOf(key, reservation.network()).stream().anyMatch(claim -> claim.matches(reservation));
    }

    /** Whether {@code reservation} is this attachment's in the subnet {@code cidr} (null: only by its owner comment). */
    public boolean ownsIn(FixedAddress reservation, AttachmentKey key, String cidr) {
        return claimsOf(key, cidr).stream().anyMatch(claim -> claim.matches(reservation));
    }

    /**
     * The attachment a reservation of this host's belongs to, read from its comment and
     * {@code VM ID}; null when it is not provably one (no container ID, or the comment carries
     * more than ours, e.g. an operator's note: such a reservation is never adopted or released).
     */
    public AttachmentKey keyOf(FixedAddress r) {
        ReservationTags.Owner owner = ReservationTags.ownerOf(r).orElse(null);
        String containerId = r.ea(ReservationTags.VM_ID);
        if (owner == null || containerId == null || !hostIds().contains(owner.hostId())) return null;
        AttachmentKey key;
        try {
            key = new AttachmentKey(owner.network(), containerId, owner.ifName());
        } catch (IllegalArgumentException notAKey) {
            return null;
        }
        return ownsIn(r, key, null) ? key : null;
    }
}
