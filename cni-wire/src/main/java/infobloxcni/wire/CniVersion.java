package infobloxcni.wire;

import java.util.List;

/**
 * The CNI versions we speak, and which result layout each one expects: what the plugin's VERSION
 * answer lists and what the daemon accepts.
 */
public final class CniVersion {
    /** Oldest first. */
    public static final List<String> SUPPORTED = List.of("0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0");
    /** The newest: the answer's cniVersion when the configuration has none that can be read. */
    public static final String LATEST = "1.1.0";

    private CniVersion() {}

    public static boolean isSupported(String version) {
        return SUPPORTED.contains(version);
    }

    /** 0.1.0 and 0.2.0 answer with {@code ip4}; later versions with {@code ips[]}. */
    public static boolean usesIp4Layout(String version) {
        return version.startsWith("0.1.") || version.startsWith("0.2.");
    }

    /** 0.3.x and 0.4.0 tag each address with {@code "version": "4"}; 1.0.0 dropped it. */
    public static boolean tagsIpVersion(String version) {
        return version.startsWith("0.3.") || version.equals("0.4.0");
    }

    public static boolean atLeast(String version, String minimum) {
        return SUPPORTED.indexOf(version) >= SUPPORTED.indexOf(minimum);
    }
}
