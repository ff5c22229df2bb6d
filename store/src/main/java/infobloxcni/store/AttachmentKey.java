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

    /** How long a container ID reads in a log line: as runtimes show them (podman, docker, crictl). */
    static final int SHORT_ID = 12;

    /**
     * {@code net1 c1/eth0}, as an operator reads an attachment in a log line; a runtime's 64-hex
     * container ID is shortened to its first 12 characters, as runtimes show it. Not an identity:
     * compare keys, never their text.
     */
    @Override
    public String toString() {
        boolean runtimeId =
                containerId.length() == 64 && containerId.chars().allMatch(c -> Character.digit(c, 16) >= 0);
        return network + " " + (runtimeId ? containerId.substring(0, SHORT_ID) : containerId) + "/" + ifName;
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
