package infobloxcni.daemon.config;

import infobloxcni.daemon.cni.CniName;
import infobloxcni.daemon.cni.Ipv4Subnet;
import infobloxcni.daemon.cni.LogText;
import infobloxcni.daemon.cni.NetConf;
import infobloxcni.daemon.grid.RequestBounds;
import infobloxcni.daemon.server.SocketLimits;
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
 * @param requestBounds     what netconfs may ask the grid for (views, subnets); null: anything
 * @param lenientNetconf    unknown {@code ipam} fields are logged, not refused ({@code --lenient-netconf})
 * @param createViews       a network view a netconf names is created when missing ({@code --create-views})
 * @param settingsFile      the settings file these were read from, null: none (for {@code status})
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
        RequestBounds requestBounds,
        boolean lenientNetconf,
        boolean createViews,
        Path settingsFile) {

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
        private static final Duration DEFAULT_ADD = Duration.ofSeconds(Defaults.ADD_TIMEOUT_SECONDS);
        private static final Duration DEFAULT_DEL = Duration.ofSeconds(Defaults.DEL_TIMEOUT_SECONDS);
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

    /**
     * Each default in one place: the flags' {@code defaultValue}s are these constants, and so is
     * what {@link #builder()} starts from (tests included).
     */
    public static final class Defaults {
        public static final String SOCKET_DIR = "/run/cni";
        public static final String DRIVER_NAME = "infoblox";
        public static final String SOCKET_MODE = "rw-------";
        public static final String STATE_DIR = "/var/lib/infoblox-cni";
        public static final String CNI_CACHE_DIR = "/var/lib/cni/results";
        public static final String NETWORK_VIEW = "default";
        public static final String NETWORK_CONTAINER = "172.18.0.0/16";
        public static final int PREFIX_LENGTH = 24;
        public static final String CLUSTER_NAME = "cluster-1";
        public static final String CMP_TYPE = "Kubernetes";
        public static final int POOL_SIZE = 2;
        public static final boolean CREATE_VIEWS = true;
        public static final int ADD_TIMEOUT_SECONDS = 10;
        public static final int DEL_TIMEOUT_SECONDS = 0;
        /** Not a flag: the longest pause between two attempts at a pending release. */
        public static final Duration RELEASE_RETRY_MAX = Duration.ofMinutes(5);

        private Defaults() {}
    }

    /** A builder holding the {@link Defaults}; the grid's settings ({@link Builder#wapi}) have none and must be given. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this configuration, to change a few of its settings. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.wapi = wapi;
        b.socketDir = socketDir;
        b.driverName = driverName;
        b.socketPermissions = socketPermissions;
        b.socketGroup = socketGroup;
        b.stateDir = stateDir;
        b.cniCacheDir = cniCacheDir;
        b.networkView = networkView;
        b.networkContainers = networkContainers;
        b.prefixLength = prefixLength;
        b.clusterName = clusterName;
        b.cmpType = cmpType;
        b.hostId = hostId;
        b.releaseRetryMax = releaseRetryMax;
        b.bounds = bounds;
        b.poolSize = poolSize;
        b.socketLimits = socketLimits;
        b.requestBounds = requestBounds;
        b.lenientNetconf = lenientNetconf;
        b.createViews = createViews;
        b.settingsFile = settingsFile;
        return b;
    }

    /** Named settings instead of 18 positional ones; {@link #build} validates them all (the record's constructor). */
    public static final class Builder {
        private WapiConfig wapi;
        private Path socketDir = Path.of(Defaults.SOCKET_DIR);
        private String driverName = Defaults.DRIVER_NAME;
        private Set<PosixFilePermission> socketPermissions = PosixFilePermissions.fromString(Defaults.SOCKET_MODE);
        private String socketGroup;
        private Path stateDir = Path.of(Defaults.STATE_DIR);
        private Path cniCacheDir = Path.of(Defaults.CNI_CACHE_DIR);
        private String networkView = Defaults.NETWORK_VIEW;
        private List<String> networkContainers = List.of(Defaults.NETWORK_CONTAINER);
        private int prefixLength = Defaults.PREFIX_LENGTH;
        private String clusterName = Defaults.CLUSTER_NAME;
        private String cmpType = Defaults.CMP_TYPE;
        private String hostId;
        private Duration releaseRetryMax = Defaults.RELEASE_RETRY_MAX;
        private VerbBounds bounds = VerbBounds.DEFAULTS;
        private int poolSize = Defaults.POOL_SIZE;
        private SocketLimits socketLimits;
        private RequestBounds requestBounds = RequestBounds.ANY;
        private boolean lenientNetconf;
        private boolean createViews = Defaults.CREATE_VIEWS;
        private Path settingsFile;

        private Builder() {}

        public Builder wapi(WapiConfig v) {
            wapi = v;
            return this;
        }

        public Builder socketDir(Path v) {
            socketDir = v;
            return this;
        }

        public Builder driverName(String v) {
            driverName = v;
            return this;
        }

        public Builder socketPermissions(Set<PosixFilePermission> v) {
            socketPermissions = v;
            return this;
        }

        public Builder socketGroup(String v) {
            socketGroup = v;
            return this;
        }

        public Builder stateDir(Path v) {
            stateDir = v;
            return this;
        }

        public Builder cniCacheDir(Path v) {
            cniCacheDir = v;
            return this;
        }

        public Builder networkView(String v) {
            networkView = v;
            return this;
        }

        public Builder networkContainers(List<String> v) {
            networkContainers = v;
            return this;
        }

        public Builder prefixLength(int v) {
            prefixLength = v;
            return this;
        }

        public Builder clusterName(String v) {
            clusterName = v;
            return this;
        }

        public Builder cmpType(String v) {
            cmpType = v;
            return this;
        }

        public Builder hostId(String v) {
            hostId = v;
            return this;
        }

        public Builder releaseRetryMax(Duration v) {
            releaseRetryMax = v;
            return this;
        }

        public Builder bounds(VerbBounds v) {
            bounds = v;
            return this;
        }

        public Builder poolSize(int v) {
            poolSize = v;
            return this;
        }

        public Builder socketLimits(SocketLimits v) {
            socketLimits = v;
            return this;
        }

        Builder requestBounds(RequestBounds v) {
            requestBounds = v;
            return this;
        }

        public Builder lenientNetconf(boolean v) {
            lenientNetconf = v;
            return this;
        }

        public Builder createViews(boolean v) {
            createViews = v;
            return this;
        }

        public Builder settingsFile(Path v) {
            settingsFile = v;
            return this;
        }

        public DaemonConfig build() {
            if (wapi == null) throw new IllegalArgumentException("the grid's settings (wapi) are missing");
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
                    requestBounds,
                    lenientNetconf,
                    createViews,
                    settingsFile);
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
            releaseRetryMax = Defaults.RELEASE_RETRY_MAX;
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

    /** This configuration with other socket limits. */
    public DaemonConfig withSocketLimits(SocketLimits limits) {
        return toBuilder().socketLimits(limits).build();
    }

    public Path socketPath() {
        return socketDir.resolve(driverName + ".sock");
    }

    public Path journalDir() {
        return stateDir.resolve("journal");
    }
}
