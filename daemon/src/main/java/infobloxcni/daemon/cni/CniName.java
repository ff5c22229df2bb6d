package infobloxcni.daemon.cni;

import java.util.regex.Pattern;

/**
 * The one rule for a container ID and a network name, CNI's own (libcni's ValidateContainerID and
 * ValidateNetworkName, {@code ^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$}): a letter or digit, then letters,
 * digits, '_', '.' and '-'. The daemon holds its own {@code --driver-name} and {@code --host-id}
 * to it too: like the CNI names, they end up in file names, log lines and the grid's comments.
 * Lengths are the caller's to bound.
 */
public final class CniName {
    private static final Pattern RULE = Pattern.compile("[a-zA-Z0-9][a-zA-Z0-9_.\\-]*");

    private CniName() {}

    /** True when {@code s} is not null and follows the rule. */
    public static boolean isValid(String s) {
        return s != null && RULE.matcher(s).matches();
    }
}
