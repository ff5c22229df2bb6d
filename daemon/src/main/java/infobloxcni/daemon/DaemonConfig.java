package infobloxcni.daemon;

import infobloxcni.wapi.WapiConfig;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Set;

/**
 * Everything the daemon runs with, validated in the constructor so the rest of the code can
 * trust it. The allocation defaults are the original driver's flags; a netconf value wins.
 *
 * @param socketPermissions who may talk to the daemon: owner only (root) unless configured; never others
 * @param socketGroup       group to hand the socket to, or null; its members may make CNI requests, never admin ones
 * @param cniCacheDir       the runtime's CNI result cache, read when the journal must be rebuilt
 * @param releaseRetryMax   longest pause between two attempts at a pending release
 * @param bounds            how long each CNI verb may wait on the grid in all
 * @param poolSize          warm addresses kept per network on this host, unless the netconf's {@code ipam.pool-size} says
 * @param socketLimits      connections, deadlines and buffered bytes clients may hold; null: the defaults
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
        int poolSize,
        SocketLimits socketLimits,
        RequestBounds requestBounds) {

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

    /** Written into every reservation's comment (see {@link NetConf#MAX_NAME_LENGTH}). */
    static final int MAX_HOST_ID_LENGTH = 64;

    public DaemonConfig {
        if (!CniName.isValid(driverName))
            throw new IllegalArgumentException("--driver-name must be a plain file name, got '" + driverName + "'");
        if (!CniName.isValid(hostId) || hostId.length() > MAX_HOST_ID_LENGTH) {
            throw new IllegalArgumentException("--host-id must be 1.." + MAX_HOST_ID_LENGTH
                    + " letters, digits, '_', '.', '-', got " + LogText.value(hostId));
        }
        if (networkView == null) throw new IllegalArgumentException("--network-view must not be empty");
        String viewProblem = NetConf.viewProblem(networkView);
        if (viewProblem != null) throw new IllegalArgumentException("--network-view " + viewProblem);
        if (prefixLength < NetConf.MIN_PREFIX_LENGTH || prefixLength > 30) {
            throw new IllegalArgumentException(
                    "--prefix-length must be " + NetConf.MIN_PREFIX_LENGTH + "..30, got " + prefixLength);
        }
        if (clusterName == null || clusterName.isBlank())
            throw new IllegalArgumentException("--cluster-name must not be empty");
        networkContainers = List.copyOf(networkContainers);
        for (String container : networkContainers) {
            Ipv4Subnet parsed;
            try {
                parsed = Ipv4Subnet.parse(container);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--network-container: " + e.getMessage());
            }
            String problem = NetConf.networkProblem(parsed);
            if (problem != null) throw new IllegalArgumentException("--network-container: " + problem);
        }
        if (networkContainers.isEmpty())
            throw new IllegalArgumentException("--network-container must name at least one CIDR");
        socketPermissions = Set.copyOf(socketPermissions);
        if (socketPermissions.stream().anyMatch(p -> p.name().startsWith("OTHERS_"))) {
            // connecting needs write permission; the daemon does not widen who may: the file mode is the first gate
            throw new IllegalArgumentException("--socket-mode " + PosixFilePermissions.toString(socketPermissions)
                    + " would let every local user talk to the daemon (and release any container's address); "
                    + "give a group access instead: --socket-group <group> --socket-mode rw-rw----");
        }
        if (releaseRetryMax == null || releaseRetryMax.isNegative() || releaseRetryMax.isZero())
            releaseRetryMax = Duration.ofMinutes(5);
        if (bounds == null) bounds = VerbBounds.DEFAULTS;
        if (poolSize < 0 || poolSize > NetConf.MAX_POOL_SIZE) {
            throw new IllegalArgumentException("--pool-size must be 0.." + NetConf.MAX_POOL_SIZE + ", got " + poolSize);
        }
        if (socketLimits == null) socketLimits = SocketLimits.defaults();
        if (requestBounds == null) requestBounds = RequestBounds.ANY;
        if (!requestBounds.views().isEmpty() && !requestBounds.views().contains(networkView)) {
            // the daemon's own view is the one a netconf that names none gets: always allowed
            var views = new java.util.ArrayList<>(requestBounds.views());
            views.add(networkView);
            requestBounds = new RequestBounds(views, requestBounds.subnets());
        }
        for (String container : networkContainers) {
            if (!requestBounds.subnets().isEmpty() && !requestBounds.within(Ipv4Subnet.parse(container)))
                throw new IllegalArgumentException("--network-container " + container
                        + " must lie within --allowed-subnets " + requestBounds.subnets());
        }
    }

    /** A configuration that bounds nothing a netconf asks for ({@link RequestBounds#ANY}). */
    public DaemonConfig(
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
            int poolSize,
            SocketLimits socketLimits) {
        this(
                wapi,
                socketDir,
                driverName,
                socketPermissions,
                socketGroup,
                stateDir,
                cniCacheDir,
                networkView,
                networkContainers,
                prefixLength,
                clusterName,
                cmpType,
                hostId,
                releaseRetryMax,
                bounds,
                poolSize,
                socketLimits,
                RequestBounds.ANY);
    }

    /** This configuration with other bounds on what netconfs may ask for. */
    DaemonConfig withRequestBounds(RequestBounds requestBounds) {
        return new DaemonConfig(
                wapi,
                socketDir,
                driverName,
                socketPermissions,
                socketGroup,
                stateDir,
                cniCacheDir,
                networkView,
                networkContainers,
                prefixLength,
                clusterName,
                cmpType,
                hostId,
                releaseRetryMax,
                bounds,
                poolSize,
                socketLimits,
                requestBounds);
    }

    /** This configuration with other socket limits. */
    public DaemonConfig withSocketLimits(SocketLimits limits) {
        return new DaemonConfig(
                wapi,
                socketDir,
                driverName,
                socketPermissions,
                socketGroup,
                stateDir,
                cniCacheDir,
                networkView,
                networkContainers,
                prefixLength,
                clusterName,
                cmpType,
                hostId,
                releaseRetryMax,
                bounds,
                poolSize,
                limits,
                requestBounds);
    }

    public Path socketPath() {
        return socketDir.resolve(driverName + ".sock");
    }

    public Path journalDir() {
        return stateDir.resolve("journal");
    }
}
