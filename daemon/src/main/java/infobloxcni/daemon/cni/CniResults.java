package infobloxcni.daemon.cni;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import infobloxcni.store.Attachment;
import infobloxcni.wire.CniError;
import infobloxcni.wire.CniVersion;
import java.nio.charset.StandardCharsets;

/** Writes results and errors in the layout of the configuration's cniVersion. */
public final class CniResults {
    private CniResults() {}

    /** The IPAM result of an ADD: no {@code interfaces}, no interface index. */
    public static byte[] added(NetConf conf, Attachment a, String gateway) {
        String version = conf.cniVersion();
        String address = a.address() + "/" + a.prefixLength();
        ObjectNode result = NetConf.JSON.createObjectNode().put("cniVersion", version);
        if (CniVersion.usesIp4Layout(version)) {
            ObjectNode ip4 = result.putObject("ip4").put("ip", address);
            if (gateway != null) ip4.put("gateway", gateway);
            if (!conf.routes().isEmpty()) ip4.set("routes", conf.routes());
        } else {
            ArrayNode ips = result.putArray("ips");
            ObjectNode ip = ips.addObject();
            if (CniVersion.tagsIpVersion(version)) ip.put("version", "4");
            ip.put("address", address);
            if (gateway != null) ip.put("gateway", gateway);
            if (!conf.routes().isEmpty()) result.set("routes", conf.routes());
        }
        result.set("dns", conf.dns() != null ? conf.dns() : NetConf.JSON.createObjectNode());
        return bytes(result);
    }

    public static byte[] error(String cniVersion, CniError e) {
        ObjectNode error = NetConf.JSON
                .createObjectNode()
                .put("cniVersion", cniVersion)
                .put("code", e.code())
                .put("msg", e.getMessage());
        if (!e.details().isEmpty()) error.put("details", e.details());
        return bytes(error);
    }

    public static byte[] version(String cniVersion) {
        ObjectNode out = NetConf.JSON.createObjectNode().put("cniVersion", cniVersion);
        ArrayNode supported = out.putArray("supportedVersions");
        CniVersion.SUPPORTED.forEach(supported::add);
        return bytes(out);
    }

    private static byte[] bytes(ObjectNode node) {
        return node.toString().getBytes(StandardCharsets.UTF_8);
    }
}
