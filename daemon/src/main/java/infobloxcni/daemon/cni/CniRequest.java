package infobloxcni.daemon.cni;

import infobloxcni.wire.CniError;
import infobloxcni.wire.CniVersion;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * One plugin invocation as the daemon sees it: the CNI_* variables, checked, and the parsed
 * network configuration. Built by {@link #parse}, which names the variable or field at fault.
 *
 * @param netns for ADD, a path {@link NetnsPath} found to be a network namespace or nothing at all
 * @param mac   the MAC to record, once looked up ({@link #withMac}); null until then
 * @param requested the address the runtime asked for ({@link RequestedAddress}), or null: the grid chooses
 */
public record CniRequest(
        Command command,
        String containerId,
        String netns,
        String ifName,
        Map<String, String> args,
        NetConf netConf,
        String mac,
        RequestedAddress requested) {

    public enum Command {
        ADD,
        DEL,
        CHECK,
        STATUS,
        GC,
        VERSION
    }

    /**
     * What Linux takes as an interface name (1 to 15 bytes, no '/', ':' or white space), narrowed
     * to printable ASCII without '%' (which the kernel would treat as a template, like {@code eth%d}):
     * the name goes into the grid's comment and the log, where a control character or a look-alike
     * letter would hide what it is.
     */
    private static final Pattern IF_NAME = Pattern.compile("[!-~&&[^/:%]]{1,15}");
    /** A Kubernetes pod name (a DNS-1123 subdomain), written as the reservation's name and EA VM Name. */
    private static final Pattern POD_NAME =
            Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");

    static final int MAX_POD_NAME_LENGTH = 253;

    /** A request from root (or the daemon's uid), who hears why a CNI_NETNS is refused. */
    public static CniRequest parse(Map<String, String> env, byte[] stdin) throws CniError {
        return parse(env, stdin, true);
    }

    /**
     * @param privileged whether the caller is root (or the daemon's uid); any other caller (a
     *     {@code --socket-group} member) names a CNI_NETNS that root looks at, through directories
     *     the caller may not enter, so it hears one refusal for anything that is not a network
     *     namespace, missing paths included: what is there is none of its business
     */
    public static CniRequest parse(Map<String, String> env, byte[] stdin, boolean privileged) throws CniError {
        String commandText = env.get("CNI_COMMAND");
        if (commandText == null || commandText.isBlank())
            throw new CniError(CniError.INVALID_ENV, "CNI_COMMAND is not set");
        Command command = commandOf(commandText);
        if (command == null) {
            throw new CniError(
                    CniError.INVALID_ENV,
                    "CNI_COMMAND " + LogText.value(commandText)
                            + " is not one of ADD, DEL, CHECK, STATUS, GC, VERSION");
        }
        if (command == Command.VERSION) return new CniRequest(command, null, null, null, Map.of(), null, null, null);

        NetConf netConf = NetConf.parse(stdin);
        if ((command == Command.STATUS || command == Command.GC)
                && !CniVersion.atLeast(netConf.cniVersion(), "1.1.0")) {
            throw new CniError(
                    CniError.INCOMPATIBLE_VERSION,
                    command + " needs cniVersion 1.1.0, the configuration says " + netConf.cniVersion());
        }
        if (command == Command.CHECK && !CniVersion.atLeast(netConf.cniVersion(), "0.4.0")) {
            throw new CniError(
                    CniError.INCOMPATIBLE_VERSION,
                    "CHECK needs cniVersion 0.4.0 or later, the configuration says " + netConf.cniVersion());
        }
        if (command == Command.STATUS || command == Command.GC) {
            return new CniRequest(command, null, null, null, parseArgs(env.get("CNI_ARGS")), netConf, null, null);
        }

        String containerId = env.get("CNI_CONTAINERID");
        if (containerId == null || containerId.isEmpty())
            throw new CniError(CniError.INVALID_ENV, "CNI_CONTAINERID is not set");
        if (containerId.length() > 1024 || !CniName.isValid(containerId)) {
            throw new CniError(
                    CniError.INVALID_ENV,
                    "CNI_CONTAINERID " + LogText.value(containerId)
                            + " must start with a letter or digit and hold only letters, digits, '_', '.', '-'");
        }
        String ifName = env.get("CNI_IFNAME");
        if (ifName == null || ifName.isEmpty()) throw new CniError(CniError.INVALID_ENV, "CNI_IFNAME is not set");
        if (!IF_NAME.matcher(ifName).matches() || ifName.equals(".") || ifName.equals("..")) {
            throw new CniError(
                    CniError.INVALID_ENV,
                    "CNI_IFNAME " + LogText.value(ifName)
                            + " is not a valid interface name (1-15 printable ASCII characters, no '/', ':', '%' or spaces)");
        }
        String netns = env.get("CNI_NETNS");
        if (netns != null && netns.isEmpty()) netns = null;
        if (netns == null && command != Command.DEL) throw new CniError(CniError.INVALID_ENV, "CNI_NETNS is not set");
        if (command == Command.ADD) {
            // the daemon enters it (as root) to read the MAC: only a network namespace will do
            NetnsPath.Verdict verdict = NetnsPath.check(netns);
            if (!privileged && verdict.kind() != NetnsPath.Kind.NAMESPACE) {
                throw new CniError(
                        CniError.INVALID_ENV,
                        "CNI_NETNS " + LogText.value(netns)
                                + " is not a network namespace the daemon may enter; a caller that is not root must"
                                + " name one (such as /var/run/netns/<name> or /proc/<pid>/ns/net), and is not told"
                                + " what else is there");
            }
            if (verdict.kind() == NetnsPath.Kind.REFUSED) {
                throw new CniError(
                        CniError.INVALID_ENV,
                        "CNI_NETNS " + LogText.value(netns) + " is not a network namespace the daemon may enter: "
                                + LogText.escape(verdict.reason()));
            }
        }
        Map<String, String> args = parseArgs(env.get("CNI_ARGS"));
        String pod = args.get("K8S_POD_NAME");
        if (pod != null
                && !pod.isEmpty()
                && (pod.length() > MAX_POD_NAME_LENGTH || !POD_NAME.matcher(pod).matches())) {
            throw new CniError(
                    CniError.INVALID_ENV,
                    "CNI_ARGS K8S_POD_NAME " + LogText.value(pod)
                            + " is not a pod name (at most 253 lowercase letters, digits, '-' and '.')");
        }
        return new CniRequest(
                command, containerId, netns, ifName, args, netConf, null, requestedBy(command, args, netConf));
    }

    /**
     * The address the runtime asks for. An ADD's is checked here, before anything is written to the
     * grid (a carved network's subnet once it is known); any other verb's only informs: a DEL or
     * CHECK is never refused for what its ADD asked for (the netconf may have changed since, and a
     * runtime must always be able to clean up).
     */
    private static RequestedAddress requestedBy(Command command, Map<String, String> args, NetConf netConf)
            throws CniError {
        if (command != Command.ADD) {
            try {
                return requestedIn(args, netConf);
            } catch (CniError ignored) {
                return null;
            }
        }
        RequestedAddress requested = requestedIn(args, netConf);
        if (requested != null && netConf.subnet() != null) {
            String problem =
                    requested.problemIn(netConf.subnet(), netConf.subnet().gatewayOf(netConf.gateway()));
            if (problem != null) throw new CniError(CniError.INVALID_NETCONF, problem);
        }
        return requested;
    }

    private static RequestedAddress requestedIn(Map<String, String> args, NetConf netConf) throws CniError {
        return RequestedAddress.choose(
                RequestedAddress.fromCniArgs(args.get("IP")), RequestedAddress.fromNetConf(netConf.ipRequests()));
    }

    /** The verb {@code text} names exactly (CNI verbs are upper case), or null. */
    public static Command commandOf(String text) {
        if (text == null) return null;
        for (Command c : Command.values()) if (c.name().equals(text)) return c;
        return null;
    }

    /** This request with the MAC to record on its reservation. */
    public CniRequest withMac(String mac) {
        return new CniRequest(command, containerId, netns, ifName, args, netConf, mac, requested);
    }

    /** Most {@code KEY=VALUE} pairs in CNI_ARGS (a runtime passes a handful). */
    static final int MAX_ARGS = 64;

    /** {@code K=V;K2=V2}, as CNI_ARGS carries them. */
    static Map<String, String> parseArgs(String cniArgs) throws CniError {
        Map<String, String> args = new LinkedHashMap<>();
        if (cniArgs == null || cniArgs.isBlank()) return args;
        String[] pairs =
                cniArgs.split(";", 2 * MAX_ARGS + 1); // never a million-entry array: the rest stays in the last piece
        int count = 0;
        for (String pair : pairs) {
            if (pair.isEmpty()) continue;
            if (++count > MAX_ARGS || pair.indexOf(';') >= 0) {
                throw new CniError(CniError.INVALID_ENV, "CNI_ARGS holds more than " + MAX_ARGS + " KEY=VALUE pairs");
            }
            int eq = pair.indexOf('=');
            if (eq <= 0)
                throw new CniError(CniError.INVALID_ENV, "CNI_ARGS: " + LogText.value(pair) + " is not KEY=VALUE");
            args.put(pair.substring(0, eq), pair.substring(eq + 1));
        }
        return args;
    }

    /** The pod name, when the runtime tells it. */
    public String podName() {
        String name = args.get("K8S_POD_NAME");
        return name == null || name.isBlank() ? null : name;
    }
}
