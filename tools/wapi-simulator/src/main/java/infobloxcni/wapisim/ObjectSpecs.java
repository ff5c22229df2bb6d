package infobloxcni.wapisim;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The object schema: the modelled types, and for each what it reads, writes, updates, searches and
 * returns by default, as a grid's {@code ?_schema} would list it. Everything that decides "is this field
 * allowed here" reads it from here, so the HTTP surface, the schema answer and validation cannot drift.
 */
final class ObjectSpecs {
    private ObjectSpecs() {}

    static final String NETWORKVIEW = "networkview";
    static final String NETWORK = "network";
    static final String CONTAINER = "networkcontainer";
    static final String FIXED = "fixedaddress";
    static final String RANGE = "range";
    static final String EADEF = "extensibleattributedef";

    /** The modelled object types, in dependency order (the order a seed file is applied in). */
    static final List<String> TYPES = List.of(EADEF, NETWORKVIEW, CONTAINER, NETWORK, RANGE, FIXED);

    /**
     * A range's {@code server_association_type}: {@code NONE} (the default) is a reserved range,
     * any other names the DHCP server that serves it (infoblox-ansible {@code nios_range}).
     */
    static final Set<String> SERVER_ASSOCIATION =
            Set.of("NONE", "MEMBER", "FAILOVER", "MS_SERVER", "MS_FAILOVER", "FAILOVER_MS");

    /** The EA definitions that come with the Cloud Network Automation license. */
    static final List<String> CLOUD_EAS =
            List.of("VM ID", "VM Name", "Tenant ID", "CMP Type", "Cloud API Owned", "Network Name");

    static final String DEFAULT_VIEW = "default";
    static final String ZERO_MAC = "00:00:00:00:00:00";
    static final Set<String> MATCH_CLIENT = Set.of("MAC_ADDRESS", "CLIENT_ID", "RESERVED", "CIRCUIT_ID", "REMOTE_ID");
    static final Set<String> EA_TYPES = Set.of("STRING", "INTEGER", "EMAIL", "URL", "DATE", "ENUM");

    /** Fields stored verbatim without modelling their meaning (accepted because grids accept them). */
    static final Set<String> PASSTHROUGH = Set.of(
            "disable", "options", "members", "use_options", "ddns_hostname", "enable_ddns", "dhcp_client_identifier");

    /** What a type reads, writes, searches and returns by default; {@code internal} is the grid's type name in refs. */
    record Spec(
            String type,
            String internal,
            List<String> readable,
            Set<String> creatable,
            Set<String> updatable,
            Set<String> searchable,
            Set<String> regexSearchable,
            List<String> defaults) {}

    private static final Map<String, Spec> SPECS = new LinkedHashMap<>();

    static {
        SPECS.put(
                NETWORKVIEW,
                new Spec(
                        NETWORKVIEW,
                        "dns.network_view",
                        List.of("name", "comment", "extattrs", "is_default"),
                        Set.of("name", "comment", "extattrs"),
                        Set.of("name", "comment", "extattrs"),
                        Set.of("name", "comment", "is_default"),
                        Set.of("name", "comment"),
                        List.of("name", "is_default")));
        SPECS.put(
                NETWORK,
                new Spec(
                        NETWORK,
                        "dns.network",
                        List.of(
                                "network",
                                "network_view",
                                "comment",
                                "extattrs",
                                "network_container",
                                "netmask",
                                "disable",
                                "options",
                                "members",
                                "use_options"),
                        Set.of(
                                "network",
                                "network_view",
                                "comment",
                                "extattrs",
                                "disable",
                                "options",
                                "members",
                                "use_options"),
                        Set.of("comment", "extattrs", "disable", "options", "members", "use_options"),
                        Set.of("network", "network_view", "comment", "network_container"),
                        Set.of("network", "comment"),
                        List.of("network", "network_view", "comment")));
        SPECS.put(
                CONTAINER,
                new Spec(
                        CONTAINER,
                        "dns.network_container",
                        List.of(
                                "network",
                                "network_view",
                                "comment",
                                "extattrs",
                                "network_container",
                                "netmask",
                                "options",
                                "use_options"),
                        Set.of("network", "network_view", "comment", "extattrs", "options", "use_options"),
                        Set.of("comment", "extattrs", "options", "use_options"),
                        Set.of("network", "network_view", "comment", "network_container"),
                        Set.of("network", "comment"),
                        List.of("network", "network_view")));
        // every field of a fixed address the simulator returns may also be given when one is created
        List<String> fixedFields = List.of(
                "ipv4addr",
                "mac",
                "name",
                "comment",
                "network",
                "network_view",
                "match_client",
                "extattrs",
                "disable",
                "options",
                "use_options",
                "ddns_hostname",
                "enable_ddns",
                "dhcp_client_identifier");
        SPECS.put(
                FIXED,
                new Spec(
                        FIXED,
                        "dns.fixed_address",
                        fixedFields,
                        Set.copyOf(fixedFields),
                        Set.of(
                                "ipv4addr",
                                "mac",
                                "name",
                                "comment",
                                "match_client",
                                "extattrs",
                                "disable",
                                "options",
                                "use_options",
                                "ddns_hostname",
                                "enable_ddns",
                                "dhcp_client_identifier"),
                        Set.of("ipv4addr", "mac", "name", "network", "network_view", "comment", "match_client"),
                        Set.of("ipv4addr", "mac", "name", "comment"),
                        List.of("ipv4addr", "mac", "network_view")));
        List<String> rangeFields = List.of(
                "start_addr",
                "end_addr",
                "network",
                "network_view",
                "comment",
                "name",
                "server_association_type",
                "disable",
                "extattrs");
        SPECS.put(
                RANGE,
                new Spec(
                        RANGE,
                        "dns.dhcp_range",
                        rangeFields,
                        Set.copyOf(rangeFields),
                        Set.of("comment", "name", "server_association_type", "disable", "extattrs"),
                        Set.of(
                                "start_addr",
                                "end_addr",
                                "network",
                                "network_view",
                                "comment",
                                "name",
                                "server_association_type"),
                        Set.of("comment", "name"),
                        List.of("start_addr", "end_addr", "network", "network_view", "comment")));
        SPECS.put(
                EADEF,
                new Spec(
                        EADEF,
                        "one.extensible_attributes_def",
                        List.of("name", "type", "comment"),
                        Set.of("name", "type", "comment"),
                        Set.of("comment"),
                        Set.of("name", "type", "comment"),
                        Set.of("name", "comment"),
                        List.of("name", "type")));
    }

    /** The spec of a modelled type; any other type answers the grid's "Unknown object type (x)". */
    static Spec spec(String type) {
        Spec s = SPECS.get(type);
        if (s == null) throw WapiError.proto("Unknown object type (" + type + ")");
        return s;
    }

    static boolean isModelledType(String type) {
        return SPECS.containsKey(type);
    }
}
