package infobloxcni.daemon;

import infobloxcni.wapi.WapiConfig;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Everything the daemon runs with, validated in the constructor so the rest of the code can
 * trust it. The allocation defaults are the original driver's flags; a netconf value wins.
 *
 * @param socketPermissions who may talk to the daemon: owner only (root) unless configured
 * @param socketGroup       group to hand the socket to, or null
 * @param cniCacheDir       the runtime's CNI result cache, read when the journal must be rebuilt
 * @param releaseRetryMax   longest pause between two attempts at a pending release
 * @param bounds            how long each CNI verb may wait on the grid in all
 * @param poolSize          warm addresses kept per network on this host, unless the netconf's {@code ipam.pool-size} says
 */
public record DaemonConfig(
        WapiConfig wapi,
        Path socketDir,
        String driverName,
        Set<PosixFilePermission> socketPermissions,
        String socketGroup,
        Path stateDir,
        Path cniCacheDir,
        String networkView,
        List<String> networkContainers,
        int prefixLength,
        String clusterName,
        String cmpType,
        String hostId,
        Duration releaseRetryMax,
        VerbBounds bounds,
        int poolSize) {

    /**
     * How long a CNI verb may wait on the grid, all its calls together ({@code Deadline}). ADD: a
     * container start waits at most this, then hears "try again" (11) and the runtime retries,
     * looking before it allocates again. DEL: answered once its intent is on disk (zero, the
     * default), or after at most this wait for its release, which goes on behind the answer; it
     * never needs to wait for a grid that is down. STATUS's probe of the grid: the DEL bound, at
     * least {@link #STATUS_PROBE_MIN}. CHECK and GC read and write a little more and get the
     * whole-call timeout.
     */
    public record VerbBounds(Duration add, Duration del) {
        private static final Duration DEFAULT_ADD = Duration.ofSeconds(10);
        private static final Duration DEFAULT_DEL = Duration.ZERO;
        public static final Duration STATUS_PROBE_MIN = Duration.ofSeconds(2);
        public static final VerbBounds DEFAULTS = new VerbBounds(DEFAULT_ADD, DEFAULT_DEL);

        public VerbBounds {
            add = positive(add, DEFAULT_ADD, "--add-timeout");
            del = del == null ? DEFAULT_DEL : del;
            if (del.isNegative()) throw new IllegalArgumentException("--del-timeout must not be negative, got " + del);
        }

        /** How long STATUS's probe of the grid may take. */
        public Duration statusProbe() {
            return del.compareTo(STATUS_PROBE_MIN) > 0 ? del : STATUS_PROBE_MIN;
        }

        private static Duration positive(Duration d, Duration fallback, String flag) {
            if (d == null) return fallback;
            if (d.isNegative() || d.isZero()) throw new IllegalArgumentException(flag + " must be positive, got " + d);
            return d;
        }
    }

    private static final Pattern NAME = Pattern.compile("[a-zA-Z0-9][a-zA-Z0-9_.\\-]*");

    public DaemonConfig {
        if (driverName == null || !NAME.matcher(driverName).matches()) throw new IllegalArgumentException("--driver-name must be a plain file name, got '" + driverName + "'");
        if (hostId == null || !NAME.matcher(hostId).matches()) throw new IllegalArgumentException("--host-id must hold only letters, digits, '_', '.', '-', got '" + hostId + "'");
        if (networkView == null || networkView.isBlank()) throw new IllegalArgumentException("--network-view must not be empty");
        if (prefixLength < 1 || prefixLength > 30) throw new IllegalArgumentException("--prefix-length must be 1..30, got " + prefixLength);
        if (clusterName == null || clusterName.isBlank()) throw new IllegalArgumentException("--cluster-name must not be empty");
        networkContainers = List.copyOf(networkContainers);
        for (String container : networkContainers) {
            try {
                Ipv4Subnet.parse(container);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--network-container: " + e.getMessage());
            }
        }
        if (networkContainers.isEmpty()) throw new IllegalArgumentException("--network-container must name at least one CIDR");
        socketPermissions = Set.copyOf(socketPermissions);
        if (releaseRetryMax == null || releaseRetryMax.isNegative() || releaseRetryMax.isZero()) releaseRetryMax = Duration.ofMinutes(5);
        if (bounds == null) bounds = VerbBounds.DEFAULTS;
        if (poolSize < 0 || poolSize > NetConf.MAX_POOL_SIZE) {
            throw new IllegalArgumentException("--pool-size must be 0.." + NetConf.MAX_POOL_SIZE + ", got " + poolSize);
        }
    }

    public Path socketPath() {
        return socketDir.resolve(driverName + ".sock");
    }

    public Path journalDir() {
        return stateDir.resolve("journal");
    }
}
