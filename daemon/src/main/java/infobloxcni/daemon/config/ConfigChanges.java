package infobloxcni.daemon.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;

/**
 * What a reload (SIGHUP) changes, setting by setting: those the daemon applies live, and those
 * that need a restart, each named by its flag. Live: the grid's user name and password (a new
 * session with the next call), the default pool size (from the next request naming a network),
 * the ADD and DEL bounds, and {@code --lenient-netconf}; the log level is DaemonMain's own.
 * Everything else shapes what was built at the start: the socket, the journal's directory, the
 * names and tags on the grid's reservations, the HTTP client and the grid's health thresholds
 * (the WAPI timeouts), the connection limits.
 */
public record ConfigChanges(List<String> live, List<String> restart) {
    // each is named by its flag in the log line; a value is shown as the configuration holds it
    private record Setting(String flag, Function<DaemonConfig, Object> value) {}

    private static final List<Setting> LIVE = List.of(
            new Setting("wapi-username", c -> c.wapi().username()),
            new Setting("wapi-password", c -> c.wapi().password()),
            new Setting("pool-size", DaemonConfig::poolSize),
            new Setting("add-timeout", c -> c.bounds().add()),
            new Setting("del-timeout", c -> c.bounds().del()),
            new Setting("lenient-netconf", DaemonConfig::lenientNetconf));

    private static final List<Setting> AT_START = List.of(
            new Setting("grid-host", c -> c.wapi().gridHost()),
            new Setting("wapi-port", c -> c.wapi().port()),
            new Setting("wapi-version", c -> c.wapi().wapiVersion()),
            new Setting("ssl-verify", c -> c.wapi().sslVerify()),
            new Setting("wapi-scheme", c -> c.wapi().https()),
            new Setting("wapi-connect-timeout", c -> c.wapi().connectTimeout()),
            new Setting("wapi-read-timeout", c -> c.wapi().readTimeout()),
            new Setting("wapi-call-timeout", c -> c.wapi().callTimeout()),
            new Setting("wapi-max-answer-bytes", c -> c.wapi().maxAnswerBytes()),
            new Setting("wapi-max-calls", c -> c.wapi().maxCalls()),
            new Setting("socket-dir", DaemonConfig::socketDir),
            new Setting("driver-name", DaemonConfig::driverName),
            new Setting("socket-mode", DaemonConfig::socketPermissions),
            new Setting("socket-group", DaemonConfig::socketGroup),
            new Setting("state-dir", DaemonConfig::stateDir),
            new Setting("cni-cache-dir", DaemonConfig::cniCacheDir),
            new Setting("network-view", DaemonConfig::networkView),
            new Setting("network-container", DaemonConfig::networkContainers),
            new Setting("prefix-length", DaemonConfig::prefixLength),
            new Setting("cluster-name", DaemonConfig::clusterName),
            new Setting("cmp-type", DaemonConfig::cmpType),
            new Setting("host-id", DaemonConfig::hostId),
            new Setting("release-retry-max", DaemonConfig::releaseRetryMax),
            new Setting("max-connections ...", DaemonConfig::socketLimits),
            new Setting("allowed-views, allowed-subnets", DaemonConfig::requestBounds),
            new Setting("create-views", DaemonConfig::createViews));

    public static ConfigChanges between(DaemonConfig before, DaemonConfig after) {
        return new ConfigChanges(changed(LIVE, before, after), changed(AT_START, before, after));
    }

    /** The settings a reload takes from {@code after}, on top of {@code before}. */
    public static DaemonConfig applyLive(DaemonConfig before, DaemonConfig after) {
        return before.toBuilder()
                .wapi(before.wapi()
                        .withCredentials(after.wapi().username(), after.wapi().password()))
                .poolSize(after.poolSize())
                .bounds(after.bounds())
                .lenientNetconf(after.lenientNetconf())
                .build();
    }

    public boolean none() {
        return live.isEmpty() && restart.isEmpty();
    }

    /** Each changed setting as "flag old -> new"; a password by its name alone. */
    private static List<String> changed(List<Setting> settings, DaemonConfig before, DaemonConfig after) {
        List<String> out = new ArrayList<>();
        for (Setting s : settings) {
            Object was = s.value.apply(before), is = s.value.apply(after);
            if (Objects.equals(was, is)) continue;
            out.add(s.flag.equals("wapi-password") ? s.flag : s.flag + " " + was + " -> " + is);
        }
        return List.copyOf(out);
    }
}
