package infobloxcni.store;

/**
 * Identity of one attachment: the CNI triple (network name, container id, interface name).
 * All three parts are required and non-empty.
 */
public record AttachmentKey(String network, String containerId, String ifName) {
    public AttachmentKey {
        requireText(network, "network");
        requireText(containerId, "containerId");
        requireText(ifName, "ifName");
    }

    private static void requireText(String value, String name) {
        if (value == null) {
            throw new NullPointerException(name + " must not be null");
        }
        if (value.isEmpty()) {
            throw new IllegalArgumentException(name + " must not be empty");
        }
    }
}
