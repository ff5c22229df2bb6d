package infobloxcni.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import infobloxcni.daemon.cni.NetConf;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.function.Supplier;

/**
 * One CNI call as a runtime makes it: over the daemon's socket in the plugin's envelope (as
 * {@link TestHost#send} does), or through the real {@code bin/infoblox} (one JVM per call). A call
 * whose answer never came (the daemon killed, the socket gone, the bound passed) is {@link
 * Result#lost()}: the runtime cannot tell what happened.
 */
final class CniCalls {
    /** How long a runtime waits for one call (an ADD's own bound is 10 s). */
    static final Duration CALL_LIMIT = Duration.ofSeconds(45);

    /** What one call answered. */
    record Result(int exit, int code, String msg, String stdout, boolean lost, boolean viaPlugin) {
        boolean ok() {
            return !lost && exit == 0;
        }

        /** The ADD result's address, without its prefix length; null when there is none. */
        String address() {
            try {
                JsonNode j = NetConf.JSON.readTree(stdout);
                String a = j.path("ips").path(0).path("address").asText(null);
                return a == null ? null : a.replaceFirst("/.*", "");
            } catch (IOException e) {
                return null;
            }
        }

        String brief() {
            if (lost) return "no answer (" + msg + ")" + (viaPlugin ? " via bin/infoblox" : "");
            return (exit == 0 ? "ok" : "exit " + exit + " code " + code + ": " + msg)
                    + (viaPlugin ? " via bin/infoblox" : "");
        }
    }

    private final Supplier<TestHost> host;
    private final Path plugin;

    /**
     * @param host   the daemon's paths (they change when the daemon is restarted under another host ID)
     * @param plugin {@code bin/infoblox}, or null when calls only go over the socket
     */
    CniCalls(Supplier<TestHost> host, Path plugin) {
        this.host = host;
        this.plugin = plugin;
    }

    boolean canUsePlugin() {
        return plugin != null;
    }

    /** One call (CNI_ARGS names the pod after the container). */
    Result call(String command, String containerId, String ifName, String netconf, boolean viaPlugin) {
        Map<String, String> env = TestHost.env(command, containerId, ifName);
        if (containerId != null) env.put("CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAME=" + containerId);
        return viaPlugin && plugin != null ? throughPlugin(env, netconf) : overSocket(env, netconf);
    }

    private Result overSocket(Map<String, String> env, String netconf) {
        TestHost.Answer a;
        try {
            a = host.get().send(env, netconf, CALL_LIMIT);
        } catch (UncheckedIOException e) {
            return new Result(-1, -1, "connection failed: " + e.getCause().getMessage(), "", true, false);
        }
        if (a == null) return new Result(-1, -1, "no answer within " + CALL_LIMIT.toSeconds() + " s", "", true, false);
        return parsed(a.exitCode(), a.stdout(), false);
    }

    private Result throughPlugin(Map<String, String> env, String netconf) {
        env.put("CNI_PATH", plugin.getParent().toString());
        ExternalCommand.Result r = ExternalCommand.run(CALL_LIMIT, env, netconf, plugin.toString());
        if (r.timedOut()) return new Result(-1, -1, "bin/infoblox timed out", r.stdout(), true, true);
        Result parsed = parsed(r.exit(), r.stdout(), true);
        // the plugin's own words (not the daemon's) when the daemon was not there, or went away or
        // stayed silent during the request: the outcome is unknown
        boolean daemonGone = parsed.exit != 0 && parsed.msg.startsWith("infoblox daemon ");
        return daemonGone ? new Result(parsed.exit, parsed.code, parsed.msg, parsed.stdout, true, true) : parsed;
    }

    private static Result parsed(int exit, String stdout, boolean viaPlugin) {
        if (exit == 0) return new Result(0, 0, "", stdout, false, viaPlugin);
        try {
            JsonNode j = NetConf.JSON.readTree(stdout);
            return new Result(exit, j.path("code").asInt(-3), j.path("msg").asText(""), stdout, false, viaPlugin);
        } catch (IOException e) {
            return new Result(exit, -3, "not JSON: " + stdout, stdout, false, viaPlugin);
        }
    }
}
