package infobloxcni.daemon.cni;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import infobloxcni.wire.CniError;
import infobloxcni.wire.CniVersion;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The network configuration a runtime passes on stdin, reduced to what this driver uses and
 * validated once, here: every later step can trust these fields. Field names are the original
 * driver's ({@code network-view}, {@code network-container}, {@code prefix-length}...).
 *
 * @param subnet            null: carve one out of a network container
 * @param gateway           as written (may be {@code 0.0.0.1}-style, resolved against the subnet later); null: first host
 * @param networkContainers empty: use the daemon's
 * @param prefixLength      0: use the daemon's
 * @param routes            passed through to the result untouched
 * @param dns               passed through to the result untouched (ipam.dns, else the top-level dns)
 * @param prevResult        CHECK/DEL only; null otherwise
 * @param validAttachments  GC only: {@code cni.dev/valid-attachments}
 * @param poolSize          {@code ipam.pool-size}: warm addresses this host keeps for the network; -1: the daemon's
 * @param ipRequests        {@code args} and {@code runtimeConfig} as written (their {@code ips}: see
 *                          {@link RequestedAddress}), read by the request, which knows whether to refuse them
 * @param scope             {@code ipam.range-start}/{@code range-end} and {@code ipam.exclude}: where addresses may come from
 * @param unknownIpamFields {@code ipam} fields this driver does not know (typos, or another tool's): see {@link #unknownFieldProblem}
 */
public record NetConf(
        String cniVersion,
        String name,
        String ipamType,
        Ipv4Subnet subnet,
        String gateway,
        String networkView,
        List<String> networkContainers,
        int prefixLength,
        ArrayNode routes,
        ObjectNode dns,
        String runtimeMac,
        JsonNode prevResult,
        List<ValidAttachment> validAttachments,
        int poolSize,
        ObjectNode ipRequests,
        AllocationScope scope,
        List<String> unknownIpamFields) {

    /** Largest {@code ipam.pool-size}: a pool costs addresses on every host. */
    public static final int MAX_POOL_SIZE = 64;

    /**
     * One entry of {@code cni.dev/valid-attachments}: an attachment the runtime still uses (not
     * the journal's {@code store.Attachment}).
     */
    public record ValidAttachment(String containerId, String ifName) {}

    /**
     * Most JSON tokens in one document. What parsing costs in memory grows with the tokens far more
     * than with the bytes ({@code [0,0,0,...]} is a node per two bytes); a netconf, even a GC's with
     * thousands of valid-attachments (six tokens each), stays far below.
     */
    static final long MAX_TOKENS = 100_000;

    public static final ObjectMapper JSON = new ObjectMapper(JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxNestingDepth(64)
                    .maxStringLength(1 << 20)
                    .maxDocumentLength(infobloxcni.wire.Envelope.MAX_VALUE_BYTES)
                    .maxTokenCount(MAX_TOKENS)
                    .build())
            .build());
    private static final Pattern MAC = Pattern.compile("([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}");
    /**
     * Longest network name: it is written into each reservation's comment, which a grid keeps up
     * to 256 characters ({@code infoblox-cni host=<64> net=<128> if=<15>} fits).
     */
    static final int MAX_NAME_LENGTH = 128;

    static final int MAX_VIEW_LENGTH = 64;
    private static final Pattern VIEW = Pattern.compile("[A-Za-z0-9](?:[A-Za-z0-9 _.\\-]*[A-Za-z0-9_.\\-])?");
    /** The largest network (smallest prefix length) a subnet, a container or a carved network may be. */
    public static final int MIN_PREFIX_LENGTH = 8;

    static final int MAX_CONTAINERS = 16;
    /** "This network", loopback, multicast and the reserved and broadcast block. */
    private static final List<Ipv4Subnet> RESERVED =
            List.of(Ipv4Subnet.parse("0.0.0.0/8"), Ipv4Subnet.parse("127.0.0.0/8"), Ipv4Subnet.parse("224.0.0.0/3"));

    static final String DEFAULT_VERSION = "0.1.0";

    /** Parses and validates; the error names the offending field. */
    public static NetConf parse(byte[] stdin) throws CniError {
        JsonNode root;
        try {
            root = JSON.readTree(stdin);
        } catch (com.fasterxml.jackson.core.exc.StreamConstraintsException e) {
            throw new CniError(
                    CniError.DECODE_FAILURE, "network configuration is too large to decode: " + e.getOriginalMessage());
        } catch (JsonProcessingException e) {
            throw new CniError(
                    CniError.DECODE_FAILURE, "network configuration is not valid JSON: " + e.getOriginalMessage());
        } catch (java.io.IOException e) {
            throw new CniError(CniError.DECODE_FAILURE, "network configuration unreadable: " + e.getMessage());
        }
        if (root == null || !root.isObject()) {
            throw new CniError(CniError.DECODE_FAILURE, "network configuration must be a JSON object");
        }
        String version = optionalText(root, "cniVersion", "cniVersion");
        if (version == null) version = DEFAULT_VERSION;
        if (!CniVersion.isSupported(version)) {
            throw new CniError(
                    CniError.INCOMPATIBLE_VERSION,
                    "cniVersion " + LogText.value(version) + " is not supported; supported: " + CniVersion.SUPPORTED);
        }
        return parseFields(version, root);
    }

    /** The cniVersion to answer in, even for a config that fails validation. */
    public static String versionOf(byte[] stdin) {
        JsonNode v = fieldOf(stdin, "cniVersion");
        return v != null && v.isTextual() && CniVersion.isSupported(v.asText()) ? v.asText() : CniVersion.LATEST;
    }

    /** The network name a config gives, when it is one, even for a config that fails validation (for its log line). */
    public static String nameOf(byte[] stdin) {
        JsonNode v = fieldOf(stdin, "name");
        return v != null
                        && v.isTextual()
                        && CniName.isValid(v.asText())
                        && v.asText().length() <= MAX_NAME_LENGTH
                ? v.asText()
                : null;
    }

    /** A top-level field of a config that may not parse: null when it does not, or has no such field. */
    private static JsonNode fieldOf(byte[] stdin, String field) {
        try {
            JsonNode root = JSON.readTree(stdin);
            return root == null ? null : root.get(field);
        } catch (Exception unparsable) {
            return null;
        }
    }

    private static NetConf parseFields(String version, JsonNode root) throws CniError {
        String name = optionalText(root, "name", "name");
        if (!CniName.isValid(name) || name.length() > MAX_NAME_LENGTH) {
            throw new CniError(
                    CniError.INVALID_NETCONF,
                    "field 'name' must be a network name (letters, digits, '_', '.', '-', at most " + MAX_NAME_LENGTH
                            + "), got " + show(name));
        }
        JsonNode ipam = root.get("ipam");
        if (ipam == null || !ipam.isObject())
            throw new CniError(CniError.INVALID_NETCONF, "field 'ipam' is missing or not an object");
        if (!HostLocalRanges.used(ipam)) return parseIpam(version, root, name, ipam);
        JsonNode range = ipam.path("ranges").path(0).path(0);
        ObjectNode lifted = HostLocalRanges.lift((ObjectNode) ipam);
        try {
            return parseIpam(version, root, name, lifted);
        } catch (CniError e) {
            throw HostLocalRanges.named(e, range);
        }
    }

    /** The {@code ipam} section's fields (host-local's ranges already read as this driver's own). */
    private static NetConf parseIpam(String version, JsonNode root, String name, JsonNode ipam) throws CniError {
        String ipamType = optionalText(ipam, "type", "ipam.type");
        if (ipamType == null || ipamType.isBlank())
            throw new CniError(CniError.INVALID_NETCONF, "field 'ipam.type' is missing");

        Ipv4Subnet subnet = null;
        String subnetText = optionalText(ipam, "subnet", "ipam.subnet");
        if (subnetText != null && !subnetText.isBlank()) {
            if (subnetText.contains(":"))
                throw new CniError(
                        CniError.INVALID_NETCONF,
                        "field 'ipam.subnet': IPv6 (" + LogText.value(subnetText) + ") is not supported yet");
            try {
                subnet = Ipv4Subnet.parse(subnetText);
            } catch (IllegalArgumentException e) {
                throw new CniError(CniError.INVALID_NETCONF, "field 'ipam.subnet': " + e.getMessage());
            }
            if (subnet.prefixLength() > 30)
                throw new CniError(
                        CniError.INVALID_NETCONF,
                        "field 'ipam.subnet': /" + subnet.prefixLength()
                                + " leaves no room for a gateway and containers");
            String problem = networkProblem(subnet);
            if (problem != null) throw new CniError(CniError.INVALID_NETCONF, "field 'ipam.subnet': " + problem);
        }

        String gateway = optionalText(ipam, "gateway", "ipam.gateway");
        if (gateway != null && gateway.isBlank()) gateway = null;
        if (gateway != null) {
            try {
                Ipv4Subnet.parseAddress(gateway);
            } catch (IllegalArgumentException e) {
                throw new CniError(CniError.INVALID_NETCONF, "field 'ipam.gateway': " + e.getMessage());
            }
            // checked here, before anything is written to the grid: a gateway refused after the
            // network was created left that network behind
            if (subnet != null) checkGateway(gateway, subnet);
        }

        AllocationScope scope = AllocationScope.parse(ipam);
        if (subnet != null) {
            String problem = scope.problemIn(subnet);
            if (problem != null) throw new CniError(CniError.INVALID_NETCONF, problem);
        }

        String view = optionalText(ipam, "network-view", "ipam.network-view");
        if (view != null) {
            String problem = viewProblem(view);
            if (problem != null) throw new CniError(CniError.INVALID_NETCONF, "field 'ipam.network-view' " + problem);
        }

        List<String> containers = new ArrayList<>();
        String containerText = optionalText(ipam, "network-container", "ipam.network-container");
        if (containerText != null && !containerText.isBlank()) {
            String[] parts = containerText.split(",", MAX_CONTAINERS + 1);
            if (parts.length > MAX_CONTAINERS) {
                throw new CniError(
                        CniError.INVALID_NETCONF,
                        "field 'ipam.network-container' lists more than " + MAX_CONTAINERS + " CIDRs");
            }
            for (String c : parts) {
                Ipv4Subnet container;
                try {
                    container = Ipv4Subnet.parse(c.trim());
                } catch (IllegalArgumentException e) {
                    throw new CniError(CniError.INVALID_NETCONF, "field 'ipam.network-container': " + e.getMessage());
                }
                String problem = networkProblem(container);
                if (problem != null)
                    throw new CniError(CniError.INVALID_NETCONF, "field 'ipam.network-container': " + problem);
                containers.add(container.toString());
            }
        }

        int prefixLength = 0;
        JsonNode prefix = ipam.get("prefix-length");
        if (prefix != null && !prefix.isNull()) {
            if (prefix.isTextual() && prefix.asText().matches("\\d{1,2}"))
                prefixLength = Integer.parseInt(prefix.asText());
            else if (prefix.isIntegralNumber()) prefixLength = prefix.asInt();
            else
                throw new CniError(
                        CniError.INVALID_NETCONF,
                        "field 'ipam.prefix-length' must be a number, got " + LogText.value(prefix.toString()));
            if (prefixLength < MIN_PREFIX_LENGTH || prefixLength > 30) {
                throw new CniError(
                        CniError.INVALID_NETCONF,
                        "field 'ipam.prefix-length' must be " + MIN_PREFIX_LENGTH + "..30, got " + prefixLength);
            }
        }

        int poolSize = -1;
        JsonNode pool = ipam.get("pool-size");
        if (pool != null && !pool.isNull()) {
            if (pool.isTextual() && pool.asText().matches("\\d{1,3}")) poolSize = Integer.parseInt(pool.asText());
            else if (pool.isIntegralNumber() && pool.canConvertToInt()) poolSize = pool.asInt();
            else throw new CniError(CniError.INVALID_NETCONF, "field 'ipam.pool-size' must be a number, got " + pool);
            if (poolSize < 0 || poolSize > MAX_POOL_SIZE) {
                throw new CniError(
                        CniError.INVALID_NETCONF,
                        "field 'ipam.pool-size' must be 0.." + MAX_POOL_SIZE + ", got " + poolSize);
            }
        }

        ArrayNode routes = JSON.createArrayNode();
        JsonNode routesNode = ipam.get("routes");
        if (routesNode != null && !routesNode.isNull()) {
            if (!routesNode.isArray())
                throw new CniError(CniError.INVALID_NETCONF, "field 'ipam.routes' must be an array");
            for (JsonNode route : routesNode) {
                if (!route.isObject() || !route.path("dst").isTextual()) {
                    throw new CniError(
                            CniError.INVALID_NETCONF,
                            "field 'ipam.routes': every route needs a 'dst', got " + LogText.value(route.toString()));
                }
                routes.add(route);
            }
        }

        ObjectNode dns = null;
        JsonNode dnsNode = ipam.has("dns") ? ipam.get("dns") : root.get("dns");
        if (dnsNode != null && !dnsNode.isNull()) {
            if (!dnsNode.isObject()) throw new CniError(CniError.INVALID_NETCONF, "field 'dns' must be an object");
            dns = (ObjectNode) dnsNode;
        }

        String runtimeMac = null;
        JsonNode runtimeConfig = root.get("runtimeConfig");
        if (runtimeConfig != null && runtimeConfig.isObject()) {
            runtimeMac = optionalText(runtimeConfig, "mac", "runtimeConfig.mac");
            if (runtimeMac != null && !MAC.matcher(runtimeMac).matches()) {
                throw new CniError(
                        CniError.INVALID_NETCONF,
                        "field 'runtimeConfig.mac' is not a MAC address: " + show(runtimeMac));
            }
        }

        JsonNode prevResult = root.get("prevResult");
        if (prevResult != null && !prevResult.isObject()) prevResult = null;

        List<ValidAttachment> valid = null;
        JsonNode attachments = root.get("cni.dev/valid-attachments");
        if (attachments != null && !attachments.isNull()) {
            if (!attachments.isArray())
                throw new CniError(CniError.INVALID_NETCONF, "field 'cni.dev/valid-attachments' must be an array");
            valid = new ArrayList<>();
            for (JsonNode a : attachments) {
                String id = a.path("containerID").asText(null);
                String ifName = a.path("ifname").asText(null);
                if (id == null || ifName == null) {
                    throw new CniError(
                            CniError.INVALID_NETCONF,
                            "field 'cni.dev/valid-attachments': each entry needs containerID and ifname, got "
                                    + LogText.value(a.toString()));
                }
                valid.add(new ValidAttachment(id, ifName));
            }
        }

        return new NetConf(
                version,
                name,
                ipamType,
                subnet,
                gateway,
                view,
                List.copyOf(containers),
                prefixLength,
                routes,
                dns,
                runtimeMac == null ? null : runtimeMac.toLowerCase(),
                prevResult,
                valid == null ? null : List.copyOf(valid),
                poolSize,
                ipRequestsOf(root),
                scope,
                unknownFields(ipam));
    }

    /**
     * What the daemon's defaults make of this configuration for an ADD, checked before anything is
     * written to the grid: a network carved without {@code subnet} must be able to hold the
     * {@code gateway} (given relative to it, like {@code 0.0.0.1}), and its prefix length must fit
     * in the containers it is carved from.
     */
    public void checkEffective(int defaultPrefixLength, List<String> defaultContainers) throws CniError {
        if (subnet != null) return;
        int prefix = prefixLength > 0 ? prefixLength : defaultPrefixLength;
        for (String c : networkContainers.isEmpty() ? defaultContainers : networkContainers) {
            int containerPrefix = Ipv4Subnet.parse(c).prefixLength();
            if (prefix < containerPrefix) {
                throw new CniError(
                        CniError.INVALID_NETCONF,
                        "field 'ipam.prefix-length': a /" + prefix + " cannot be carved out of the network container "
                                + c);
            }
        }
        if (gateway == null) return;
        int written = Ipv4Subnet.parseAddress(gateway);
        if ((written & Ipv4Subnet.mask(prefix)) != 0) {
            // a full address can only be right when the carved network is a whole container
            List<String> containers = networkContainers.isEmpty() ? defaultContainers : networkContainers;
            boolean whole = containers.stream()
                    .map(Ipv4Subnet::parse)
                    .allMatch(c -> c.prefixLength() == prefix && c.isUsableHost(written));
            if (whole) return;
            throw new CniError(
                    CniError.INVALID_NETCONF,
                    "field 'ipam.gateway': " + LogText.value(gateway) + " is a full address, but without 'ipam.subnet'"
                            + " the network is carved, so the gateway must be given within it, like 0.0.0.1");
        }
        if (written == 0 || written == ~Ipv4Subnet.mask(prefix)) {
            throw new CniError(
                    CniError.INVALID_NETCONF,
                    "field 'ipam.gateway': " + LogText.value(gateway) + " is not a usable host of a /" + prefix);
        }
    }

    /**
     * The {@code ipam} fields this driver reads: the original driver's, this one's, host-local's
     * range names, and CNI's well-known ones; host-local's {@code dataDir} and {@code resolvConf}
     * are accepted and ignored, so that a host-local netconf moves over by changing its type.
     */
    static final List<String> IPAM_FIELDS = List.of(
            "type",
            "subnet",
            "gateway",
            "routes",
            "dns",
            "network-view",
            "network-container",
            "prefix-length",
            "socket-dir",
            "daemon-timeout",
            "daemon-connect-timeout",
            "pool-size",
            "range-start",
            "range-end",
            "rangeStart",
            "rangeEnd",
            "exclude",
            "dataDir",
            "resolvConf");

    private static List<String> unknownFields(JsonNode ipam) {
        List<String> out = new ArrayList<>();
        ipam.fieldNames().forEachRemaining(f -> {
            if (!IPAM_FIELDS.contains(f)) out.add(f);
        });
        return List.copyOf(out);
    }

    /**
     * Why this netconf's unknown {@code ipam} fields refuse an ADD (7), or null: each named with
     * the known field nearest to it, since a typo ({@code subent}, {@code network-veiw}) would
     * otherwise be ignored and the daemon carve a subnet or create a view nobody asked for.
     */
    public String unknownFieldProblem() {
        if (unknownIpamFields.isEmpty()) return null;
        List<String> named = new ArrayList<>();
        for (String f : unknownIpamFields.subList(0, Math.min(5, unknownIpamFields.size()))) {
            String shown = "'ipam." + LogText.bare(f) + "'";
            String nearest = nearestField(f);
            named.add(shown + (nearest == null ? "" : " (did you mean '" + nearest + "'?)"));
        }
        if (unknownIpamFields.size() > named.size())
            named.add("and " + (unknownIpamFields.size() - named.size()) + " more");
        return (named.size() == 1 ? "field " : "fields ") + String.join(", ", named)
                + (named.size() == 1 ? " is" : " are") + " not known to the infoblox IPAM driver; nothing was"
                + " written to the grid (--lenient-netconf logs such fields instead)";
    }

    /** The known field a few edits away from {@code f} (a typo), or null when none is close. */
    static String nearestField(String f) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        String lower = f.toLowerCase(java.util.Locale.ROOT);
        for (String known : IPAM_FIELDS) {
            int d = editDistance(lower, known.toLowerCase(java.util.Locale.ROOT));
            if (d < bestDistance) {
                bestDistance = d;
                best = known;
            }
        }
        return bestDistance <= Math.max(2, f.length() / 3) ? best : null;
    }

    /** Levenshtein distance, two rows; names are short (a field name is cut before it gets here). */
    private static int editDistance(String a, String b) {
        if (a.length() > 64 || b.length() > 64) return Integer.MAX_VALUE;
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) prev[j] = j;
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int swap = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + swap);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    /** The parts of a netconf that may ask for an address, as written (absent ones left out). */
    private static ObjectNode ipRequestsOf(JsonNode root) {
        ObjectNode out = JSON.createObjectNode();
        for (String field : List.of("args", "runtimeConfig")) {
            JsonNode v = root.get(field);
            if (v != null && v.isObject()) out.set(field, v);
        }
        return out;
    }

    /** As GridNetworks resolves it: {@code 0.0.0.1}-style means that host of the subnet. */
    private static void checkGateway(String text, Ipv4Subnet subnet) throws CniError {
        String problem = subnet.gatewayProblem(text);
        if (problem != null) throw new CniError(CniError.INVALID_NETCONF, problem);
    }

    /**
     * Why {@code view} cannot name a network view, or null: 1 to {@value #MAX_VIEW_LENGTH} letters,
     * digits, '_', '.', '-' and inner spaces, starting with a letter or digit.
     */
    public static String viewProblem(String view) {
        if (view.length() > MAX_VIEW_LENGTH)
            return "must be at most " + MAX_VIEW_LENGTH + " characters, got " + view.length();
        if (!VIEW.matcher(view).matches()) {
            return "must be a network view name (letters, digits, '_', '.', '-' and inner spaces, starting with a letter or digit), got "
                    + LogText.value(view);
        }
        return null;
    }

    /** Why {@code n} cannot be a container network, or null: too large, or in a range no host may use. */
    public static String networkProblem(Ipv4Subnet n) {
        if (n.prefixLength() < MIN_PREFIX_LENGTH) return n + " is larger than a /" + MIN_PREFIX_LENGTH;
        for (Ipv4Subnet reserved : RESERVED) {
            if (reserved.contains(n.base()) || n.contains(reserved.base()))
                return n + " is in " + reserved + ", which no host may use for containers";
        }
        return null;
    }

    private static String optionalText(JsonNode node, String field, String path) throws CniError {
        JsonNode value = node.get(field);
        if (value == null || value.isNull()) return null;
        if (!value.isTextual())
            throw new CniError(
                    CniError.INVALID_NETCONF,
                    "field '" + path + "' must be a string, got " + LogText.value(value.toString()));
        return value.asText();
    }

    private static String show(String s) {
        return LogText.value(s);
    }

    /** The addresses a previous result holds, whatever its format (0.1.0 ip4, or ips[]). */
    public List<String> prevResultAddresses() {
        if (prevResult == null) return List.of();
        List<String> out = new ArrayList<>();
        for (JsonNode ip : prevResult.path("ips")) {
            if (ip.path("address").isTextual()) out.add(ip.path("address").asText());
        }
        if (prevResult.path("ip4").path("ip").isTextual())
            out.add(prevResult.path("ip4").path("ip").asText());
        return out;
    }

    public static List<String> splitList(String commaList) {
        return Arrays.stream(commaList.split(","))
                .map(String::trim)
                .filter(s -> !s.isEmpty())
                .toList();
    }
}
