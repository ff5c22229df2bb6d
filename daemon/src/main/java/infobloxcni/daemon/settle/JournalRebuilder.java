package infobloxcni.daemon.settle;

import com.fasterxml.jackson.databind.JsonNode;
import infobloxcni.daemon.cni.Ipv4Subnet;
import infobloxcni.daemon.cni.NetConf;
import infobloxcni.daemon.grid.GridRecords;
import infobloxcni.daemon.grid.ReservationTags;
import infobloxcni.daemon.state.AddressPool;
import infobloxcni.store.Attachment;
import infobloxcni.store.AttachmentKey;
import infobloxcni.store.AttachmentState;
import infobloxcni.store.AttachmentStore;
import infobloxcni.wapi.FixedAddress;
import infobloxcni.wapi.WapiClient;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Rebuilds the journal from the two places that still know the truth after the journal is lost:
 * the grid (every reservation whose comment names this host) and the runtime's CNI result cache
 * (attachments the runtime believes exist, which also covers reservations made by the original
 * driver). It only adopts: a rebuild never releases anything, because a live container's address
 * is worth more than a leaked one.
 */
public final class JournalRebuilder {
    private static final System.Logger LOG = System.getLogger(JournalRebuilder.class.getName());
    private static final java.util.regex.Pattern MAC =
            java.util.regex.Pattern.compile("([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}");

    /**
     * One attachment a runtime has cached a result for; ipamType null when the cached config is
     * unreadable or names none; mac (the interface's, from the result) and podName (CNI_ARGS
     * {@code K8S_POD_NAME}) null when the entry does not say.
     */
    public record CachedAttachment(
            AttachmentKey key,
            String address,
            String gateway,
            String ipamType,
            String mac,
            String podName,
            java.time.Instant cachedAt,
            int prefixLength,
            String networkView) {}

    private final WapiClient wapi;
    private final ReservationTags tags;
    private final Path cniCacheDir;
    private final String ipamType;
    private final Clock clock;
    private final PoolKeeper keeper;
    private final Runnable renamed;
    /** The view of a cached attachment whose netconf names none ({@code --network-view}). */
    private final String defaultView;

    /**
     * @param ipamType the driver name: cached attachments of networks using another IPAM are not ours
     * @param keeper takes in the pool addresses the journal lacks, checked again as it does for a lost refill
     * @param renamed told once every reservation of this host's former ID carries the new one
     */
    public JournalRebuilder(
            WapiClient wapi,
            ReservationTags tags,
            Path cniCacheDir,
            String ipamType,
            Clock clock,
            PoolKeeper keeper,
            String defaultView,
            Runnable renamed) {
        this.defaultView = defaultView;
        this.keeper = keeper;
        this.wapi = wapi;
        this.tags = tags;
        this.cniCacheDir = cniCacheDir;
        this.ipamType = ipamType;
        this.clock = clock;
        this.renamed = renamed;
    }

    /** This host's reservations, in every view (those still under its former ID too, until the rename is done). */
    public List<FixedAddress> thisHostsReservations() {
        List<FixedAddress> out = new ArrayList<>();
        for (String regex : tags.hostCommentRegexes(null))
            out.addAll(wapi.findFixedAddresses(null, Map.of("comment~", regex), Map.of()));
        return out;
    }

    /**
     * The host was renamed ({@link HostIdentity}): each reservation still carrying the former
     * ID's comment gets the same comment under the new ID, through the verified write (only if it
     * still carries exactly what the search listed). When none is left, {@code renamed} is told.
     */
    void carryOverRename() {
        String former = tags.formerHostId();
        if (former == null) return;
        int retagged = 0;
        for (FixedAddress r : wapi.findFixedAddresses(
                null, Map.of("comment~", ReservationTags.commentRegexOf(former, null)), Map.of())) {
            String comment = tags.renamedComment(r);
            if (comment == null) continue;
            String vmId = r.ea(ReservationTags.VM_ID);
            var claim = new infobloxcni.wapi.ReservationClaim(
                    r.comment(), vmId == null ? Map.of() : Map.of(ReservationTags.VM_ID, vmId));
            var w = wapi.updateFixedAddressIf(
                    r.networkView(),
                    r.ipv4addr(),
                    List.of(claim),
                    new infobloxcni.wapi.FixedAddressSpec(null, null, comment, null, Map.of()));
            if (w.outcome() == infobloxcni.wapi.VerifiedWrite.Outcome.WRITTEN) retagged++;
        }
        boolean left = wapi
                .findFixedAddresses(null, Map.of("comment~", ReservationTags.commentRegexOf(former, null)), Map.of())
                .stream()
                .anyMatch(r -> tags.renamedComment(r) != null);
        LOG.log(
                left ? System.Logger.Level.WARNING : System.Logger.Level.INFO,
                "host renamed from {0} to {1}: {2} reservation(s) retagged{3}",
                former,
                tags.hostId(),
                String.valueOf(retagged),
                left ? "; some are left, tried again at the next start" : "; the rename is done");
        if (!left) renamed.run();
    }

    /** Adds to the journal every attachment it does not know; returns how many were adopted. */
    public int rebuild(AttachmentStore journal) {
        carryOverRename();
        int adopted = 0;
        List<CachedAttachment> cached = readCniCache(cniCacheDir);
        java.util.Set<String> recorded = new java.util.HashSet<>();
        for (Attachment a : journal.all()) {
            if (a.address() != null) recorded.add(a.networkView() + "/" + a.address());
        }
        for (FixedAddress r : thisHostsReservations()) {
            String poolNetwork = tags.poolNetworkOf(r);
            if (poolNetwork != null) {
                // the start-up merge runs beside requests and the keeper: the address is checked again
                if (!recorded.contains(r.networkView() + "/" + r.ipv4addr())
                        && keeper.adoptOrphan(poolNetwork, r, now -> adoptPoolEntry(poolNetwork, now, cached), true))
                    adopted++;
                continue;
            }
            AttachmentKey key = tags.keyOf(r);
            if (key == null || journal.get(key).isPresent()) continue;
            String gateway = cached.stream()
                    .filter(c -> c.key().equals(key))
                    .map(CachedAttachment::gateway)
                    .findFirst()
                    .orElse(null);
            if (adoptIfStillTrue(journal, key, r, now -> adopt(key, now, gateway))) adopted++;
        }
        for (CachedAttachment c : cached) {
            if (!ipamType.equals(c.ipamType()) || journal.get(c.key()).isPresent()) continue;
            if (c.address() != null && recorded.contains(viewOf(c) + "/" + c.address())) continue;
            // The cached address names the reservation (the original driver's, which names no network, included);
            // without one, only a reservation with this host's owner comment is the attachment's.
            List<FixedAddress> onGrid =
                    wapi
                            .findFixedAddressesByEa(
                                    null, ReservationTags.VM_ID, c.key().containerId())
                            .stream()
                            .filter(r -> c.address() != null
                                    ? c.address().equals(r.ipv4addr()) && tags.owns(r, c.key())
                                    : tags.ownsIn(r, c.key(), null))
                            .toList();
            if (!onGrid.isEmpty()) { // searched after the journal was asked: nothing to look at again
                journal.put(adopt(c.key(), onGrid.getFirst(), c.gateway()));
                adopted++;
            } else if (answeredButNotOnGrid(c, cached)) {
                journal.put(asAnswered(c));
                adopted++;
            }
        }
        // After a clean stop nothing is missing; anything adopted means the journal had lost it.
        LOG.log(
                adopted == 0 ? System.Logger.Level.INFO : System.Logger.Level.WARNING,
                "journal merged with the grid and the CNI cache: {0} attachment(s) adopted",
                adopted);
        return adopted;
    }

    /**
     * Adopts a container's reservation the search of this host's reservations listed, if that is
     * still true. The merge runs beside requests: a DEL's release (behind its answer) deletes the
     * reservation, or retags it for the pool, and only then removes its record, so a search
     * answered before the release and a journal read after it would adopt a reservation that is
     * gone or the pool's (seen in the crash test: HELD_TWICE, HELD_BY_ANOTHER). So the journal is
     * asked first, then the grid again: a record gone means its release's grid write is done, and
     * what the grid still shows as the key's is adopted as it shows it now. No key lock: an ADD of
     * an unknown key holds its lock while it waits for this merge.
     */
    private boolean adoptIfStillTrue(
            AttachmentStore journal,
            AttachmentKey key,
            FixedAddress listed,
            Function<FixedAddress, Attachment> asRecord) {
        if (journal.get(key).isPresent()) return false;
        FixedAddress now = stillOwned(key, listed);
        if (now == null) return false;
        journal.put(asRecord.apply(now));
        return true;
    }

    /** The reservation at a listed address as the grid shows it now, if it still is the key's; else null. */
    public FixedAddress stillOwned(AttachmentKey key, FixedAddress listed) {
        return wapi.findFixedAddressByIp(listed.networkView(), listed.ipv4addr())
                .filter(now -> tags.owns(now, key))
                .orElse(null);
    }

    /**
     * A pool address the journal lost. If the runtime's cache says a container of that network
     * was given that address, the pool had handed it out and the tag never made it: it is that
     * container's (its tag is made in the background). When several cache entries name it (a
     * container DELed into the pool whose entry the runtime failed to remove, and the container
     * that was given the address next), the newest is the one the pool handed it to: the pool
     * hands out only addresses no record holds, so a later ADD supersedes an earlier one. Two
     * entries written at the same moment cannot be told apart: the address is then nobody's
     * pick, neither adopted for a container nor put back in the pool (null), and the audit
     * reports it. Otherwise it is a free pool address.
     */
    private Attachment adoptPoolEntry(String network, FixedAddress r, List<CachedAttachment> cached) {
        int prefix = GridRecords.prefixOf(r);
        List<CachedAttachment> claimants = cached.stream()
                .filter(c -> c.key().network().equals(network)
                        && r.ipv4addr().equals(c.address())
                        && ipamType.equals(c.ipamType()))
                .sorted(java.util.Comparator.comparing(
                                CachedAttachment::cachedAt,
                                java.util.Comparator.nullsFirst(java.util.Comparator.naturalOrder()))
                        .reversed())
                .toList();
        if (claimants.isEmpty())
            return AddressPool.entry(
                    network, r.networkView(), r.ipv4addr(), prefix, null, r.ref(), r.network(), clock.instant());
        CachedAttachment c = claimants.getFirst();
        if (claimants.size() > 1) {
            boolean tie =
                    java.util.Objects.equals(c.cachedAt(), claimants.get(1).cachedAt());
            LOG.log(
                    System.Logger.Level.WARNING,
                    "pool address {0} is named by {1} CNI cache entries ({2}): {3}",
                    r.ipv4addr(),
                    String.valueOf(claimants.size()),
                    claimants.stream().map(x -> x.key().containerId()).toList(),
                    tie
                            ? "written at the same moment, so it is left to the audit"
                            : "the newest, " + c.key().containerId() + ", has it");
            if (tie) return null;
        }
        // the tag still to be made is the one the ADD would have made: the interface's MAC, the pod name
        return Attachment.pending(c.key(), r.networkView(), c.mac(), clock.instant())
                .withPodName(c.podName())
                .withAllocation(r.ipv4addr(), prefix, c.gateway(), r.ref(), r.network())
                .withState(AttachmentState.TAG_PENDING);
    }

    /**
     * A cached attachment whose address the grid holds for nobody of this host: answered while the
     * grid was down (from the pool, the tag still to be made), then the journal lost, and the pool
     * entry deleted or never tagged. The container is using the address: adopted as an address
     * answered before its tag ({@link AttachmentState#TAG_PENDING}), which the settler reserves
     * again for it where the grid has it free, or reports as a conflict where someone else holds
     * it. Left alone when another cache entry of this network names the same address as new or
     * newer (a stale entry must not take a live one's address: the audit tells), or when the entry
     * lacks what a reservation needs (its subnet).
     */
    private static boolean answeredButNotOnGrid(CachedAttachment c, List<CachedAttachment> cached) {
        if (c.address() == null || c.prefixLength() < 8 || c.prefixLength() > 30) return false;
        return cached.stream()
                .filter(o -> o != c
                        && c.address().equals(o.address())
                        && o.key().network().equals(c.key().network()))
                .noneMatch(o -> !o.cachedAt().isBefore(c.cachedAt()));
    }

    private String viewOf(CachedAttachment c) {
        return c.networkView() != null ? c.networkView() : defaultView;
    }

    private Attachment asAnswered(CachedAttachment c) {
        String view = viewOf(c);
        String cidr = new Ipv4Subnet(
                        Ipv4Subnet.parseAddress(c.address()) & Ipv4Subnet.mask(c.prefixLength()), c.prefixLength())
                .toString();
        LOG.log(
                System.Logger.Level.WARNING,
                "{0} holds {1} as the CNI cache says, but the grid holds it for nobody of this host: reserved again"
                        + " for it unless someone else holds it",
                c.key(),
                c.address());
        return Attachment.pending(c.key(), view, c.mac(), clock.instant())
                .withPodName(c.podName())
                .withAllocation(c.address(), c.prefixLength(), c.gateway(), null, cidr)
                .withState(AttachmentState.TAG_PENDING);
    }

    public Attachment adopt(AttachmentKey key, FixedAddress r, String gateway) {
        return GridRecords.adopted(key, r, gateway, clock.instant());
    }

    /**
     * libcni keeps the config it ran base64-encoded in the entry, and its ipam type says whose
     * the attachment is: {@code ipam.type} of a single network config (AddNetwork, as cnitool
     * runs it), or of the plugin that has an ipam section in a network list (AddNetworkList, as
     * Podman, containerd, CRI-O and the kubelet run it: {@code plugins[].ipam.type}).
     */
    private static JsonNode cachedIpam(JsonNode entry) {
        try {
            JsonNode config = NetConf.JSON.readTree(
                    java.util.Base64.getDecoder().decode(entry.path("config").asText("")));
            if (config == null) return null;
            if (config.path("ipam").path("type").isTextual()) return config.path("ipam");
            for (JsonNode plugin : config.path("plugins")) {
                if (plugin.path("ipam").path("type").isTextual()) return plugin.path("ipam");
            }
            return null;
        } catch (IOException | IllegalArgumentException e) {
            return null;
        }
    }

    /** The MAC of the container's interface in a cached result (0.3.0 and later list interfaces; 0.1/0.2 do not). */
    private static String cachedMac(JsonNode result, String ifName) {
        for (JsonNode i : result.path("interfaces")) {
            String mac = i.path("mac").asText("");
            if (ifName.equals(i.path("name").asText())
                    && i.hasNonNull("sandbox")
                    && MAC.matcher(mac).matches()) {
                return mac.toLowerCase(java.util.Locale.ROOT);
            }
        }
        return null;
    }

    /** {@code K8S_POD_NAME} of the cached CNI_ARGS, which libcni keeps as {@code [["KEY","value"], ...]}. */
    private static String cachedPodName(JsonNode entry) {
        for (JsonNode pair : entry.path("cniArgs")) {
            if (pair.size() == 2
                    && "K8S_POD_NAME".equals(pair.get(0).asText())
                    && !pair.get(1).asText("").isBlank()) {
                return pair.get(1).asText();
            }
        }
        return null;
    }

    /**
     * Reads libcni's result cache ({@code <dir>/<network>-<container>-<ifname>}, JSON of kind
     * cniCacheV1). Unreadable entries are skipped: the cache is a hint, not a source of truth.
     */
    public static List<CachedAttachment> readCniCache(Path dir) {
        List<CachedAttachment> out = new ArrayList<>();
        if (dir == null || !Files.isDirectory(dir)) return out;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path file : files) {
                try {
                    if (!Files.isRegularFile(file) || Files.size(file) > 1 << 20) continue;
                    JsonNode entry = NetConf.JSON.readTree(file.toFile());
                    String id = entry.path("containerId").asText(null);
                    String ifName = entry.path("ifName").asText(null);
                    String network = entry.path("networkName").asText(null);
                    if (id == null || ifName == null || network == null) continue;
                    JsonNode ip = entry.path("result").path("ips").path(0);
                    String address = ip.path("address").asText(null);
                    if (address == null)
                        address = entry.path("result").path("ip4").path("ip").asText(null);
                    String gateway = ip.path("gateway")
                            .asText(entry.path("result")
                                    .path("ip4")
                                    .path("gateway")
                                    .asText(null));
                    JsonNode ipam = cachedIpam(entry);
                    out.add(new CachedAttachment(
                            new AttachmentKey(network, id, ifName),
                            address == null ? null : address.replaceFirst("/.*", ""),
                            gateway,
                            ipam == null ? null : ipam.path("type").asText(),
                            cachedMac(entry.path("result"), ifName),
                            cachedPodName(entry),
                            Files.getLastModifiedTime(file).toInstant(),
                            address != null && address.matches(".*/\\d{1,2}")
                                    ? Integer.parseInt(address.substring(address.indexOf('/') + 1))
                                    : 0,
                            ipam == null ? null : ipam.path("network-view").asText(null)));
                } catch (IOException | RuntimeException e) {
                    LOG.log(System.Logger.Level.DEBUG, "skipping CNI cache entry {0}: {1}", file, e.getMessage());
                }
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot read CNI cache {0}: {1}", dir, e.getMessage());
        }
        return out;
    }
}
