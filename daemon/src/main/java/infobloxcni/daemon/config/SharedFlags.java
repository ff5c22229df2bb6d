package infobloxcni.daemon.config;

import infobloxcni.daemon.cni.NetConf;
import infobloxcni.daemon.grid.RequestBounds;
import infobloxcni.daemon.server.SocketLimits;
import infobloxcni.wapi.SslVerify;
import infobloxcni.wapi.WapiConfig;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * The grid, socket, journal and allocation flags, shared by the daemon and the recover command
 * so both read the same configuration the same way. The original driver's flags keep their
 * names and defaults (single-dash spellings such as {@code -grid-host} still work); the one
 * deliberate change is {@code --ssl-verify}, which defaults to true.
 */
public final class SharedFlags {
    @Option(
            names = "--config",
            paramLabel = "FILE",
            scope = CommandLine.ScopeType.INHERIT,
            description = "settings file: one 'name = value' per line, a name being a long flag without its dashes; "
                    + "flags on the command line win (default: " + ConfigFile.DEFAULT_PATH + ", when it exists)")
    Path configFile;
    /** Where the settings came from, for the warnings (a password in the file is not on a command line). */
    private ConfigFile source = ConfigFile.none();

    @Option(
            names = {"--grid-host", "-grid-host"},
            description = "Infoblox grid host (required; the original driver's default, 192.168.124.200, was a"
                    + " private address on someone else's network)")
    String gridHost;

    @Option(
            names = {"--wapi-port", "-wapi-port"},
            defaultValue = "443",
            description = "WAPI port (default: ${DEFAULT-VALUE})")
    int wapiPort;

    @Option(
            names = {"--wapi-username", "-wapi-username"},
            defaultValue = "",
            description = "WAPI user name")
    String wapiUsername;

    @Option(
            names = {"--wapi-password", "-wapi-password"},
            description = "WAPI password (visible in ps: prefer env WAPI_PASSWORD or --wapi-password-file)")
    String wapiPassword;

    @Option(
            names = "--wapi-password-file",
            description = "file holding the WAPI password (first line); without it, WAPI_PASSWORD, else "
                    + SharedFlags.DEFAULT_PASSWORD_FILE + " when it exists")
    Path wapiPasswordFile;

    /** Where the package's units and README put the password: read by the daemon and recover alike. */
    public static final String DEFAULT_PASSWORD_FILE = "/etc/infoblox-cni/wapi-password";

    @Option(
            names = {"--wapi-version", "-wapi-version"},
            defaultValue = "2.5",
            description = "WAPI version (default: ${DEFAULT-VALUE})")
    String wapiVersion;

    @Option(
            names = {"--ssl-verify", "-ssl-verify"},
            defaultValue = "true",
            description = "true, false, or a CA certificate file (default: ${DEFAULT-VALUE})")
    String sslVerify;

    @Option(
            names = "--wapi-scheme",
            defaultValue = "https",
            description =
                    "https; http only for simulators in tests: it sends the password in clear (default: ${DEFAULT-VALUE})")
    String wapiScheme;

    @Option(
            names = "--wapi-connect-timeout",
            defaultValue = "5s",
            converter = DurationConverter.class,
            description =
                    "longest wait for a connection to the grid (500ms, 5s, 2m or seconds; default: ${DEFAULT-VALUE})")
    Duration connectTimeout;

    @Option(
            names = "--wapi-read-timeout",
            defaultValue = "20s",
            converter = DurationConverter.class,
            description = "longest silence while reading one answer of the grid (default: ${DEFAULT-VALUE})")
    Duration readTimeout;

    @Option(
            names = "--wapi-call-timeout",
            defaultValue = "30s",
            converter = DurationConverter.class,
            description =
                    "longest one WAPI call may take, connect to last byte; background work is bounded by it too (default: ${DEFAULT-VALUE})")
    Duration callTimeout;

    @Option(
            names = "--wapi-max-answer-bytes",
            defaultValue = "" + WapiConfig.DEFAULT_MAX_ANSWER_BYTES,
            description =
                    "the most of one WAPI answer the daemon reads; a larger answer fails that call (default: ${DEFAULT-VALUE})")
    int maxAnswerBytes;

    @Option(
            names = "--wapi-max-calls",
            defaultValue = "" + WapiConfig.DEFAULT_MAX_CALLS,
            description = "WAPI calls the daemon has in flight at once; more wait their turn, in order, within their"
                    + " request's time (default: ${DEFAULT-VALUE})")
    int maxCalls;

    @Option(
            names = "--add-timeout",
            defaultValue = DaemonConfig.Defaults.ADD_TIMEOUT_SECONDS + "s",
            converter = DurationConverter.class,
            description =
                    "longest an ADD waits on the grid, all its calls together; then 11, try again (default: ${DEFAULT-VALUE})")
    Duration addTimeout;

    @Option(
            names = "--del-timeout",
            defaultValue = DaemonConfig.Defaults.DEL_TIMEOUT_SECONDS + "s",
            converter = DurationConverter.class,
            description =
                    "longest a DEL waits for its release on the grid before it answers; 0 answers once the intent is on disk, "
                            + "and the release runs behind the answer (default: ${DEFAULT-VALUE})")
    Duration delTimeout;

    @Option(
            names = "--pool-size",
            defaultValue = "" + DaemonConfig.Defaults.POOL_SIZE,
            description =
                    "warm addresses reserved per network on this host, so that ADDs need no grid call and go on during "
                            + "outages; costs as many addresses per host; ipam.pool-size overrides (default: ${DEFAULT-VALUE})")
    int poolSize;

    @Option(
            names = {"--socket-dir", "-socket-dir"},
            defaultValue = DaemonConfig.Defaults.SOCKET_DIR,
            scope = CommandLine.ScopeType.INHERIT,
            description =
                    "directory of the daemon's socket, which the plugin's ipam.socket-dir must name (default: ${DEFAULT-VALUE})")
    public Path socketDir;

    @Option(
            names = {"--driver-name", "-driver-name"},
            defaultValue = DaemonConfig.Defaults.DRIVER_NAME,
            scope = CommandLine.ScopeType.INHERIT,
            description = "socket is <socket-dir>/<driver-name>.sock (default: ${DEFAULT-VALUE})")
    public String driverName;

    @Option(
            names = "--socket-mode",
            defaultValue = DaemonConfig.Defaults.SOCKET_MODE,
            description = "socket file permissions (default: ${DEFAULT-VALUE}, root only)")
    String socketMode;

    @Option(names = "--socket-group", description = "group owning the socket (with --socket-mode rw-rw----)")
    String socketGroup;

    @Option(
            names = "--state-dir",
            defaultValue = DaemonConfig.Defaults.STATE_DIR,
            description = "journal location (default: ${DEFAULT-VALUE})")
    Path stateDir;

    @Option(
            names = "--cni-cache-dir",
            defaultValue = DaemonConfig.Defaults.CNI_CACHE_DIR,
            description = "the runtime's CNI result cache, read to rebuild a lost journal (default: ${DEFAULT-VALUE})")
    Path cniCacheDir;

    @Option(
            names = {"--network-view", "-network-view"},
            defaultValue = DaemonConfig.Defaults.NETWORK_VIEW,
            description =
                    "Infoblox network view of the networks; a netconf's ipam.network-view wins (default: ${DEFAULT-VALUE})")
    String networkView;

    @Option(
            names = {"--network-container", "-network-container"},
            defaultValue = DaemonConfig.Defaults.NETWORK_CONTAINER,
            description =
                    "network containers (comma list of CIDRs, tried in order) that subnets are carved from when a netconf names none (default: ${DEFAULT-VALUE})")
    String networkContainer;

    @Option(
            names = "--allowed-views",
            defaultValue = "",
            description =
                    "network views a netconf may name (comma list; --network-view is always allowed); empty: any (default)")
    String allowedViews;

    @Option(
            names = "--lenient-netconf",
            description = "log unknown ipam fields instead of refusing them with code 7 (a typo such as 'subent'"
                    + " then goes unnoticed; for netconfs carrying fields of other tools)")
    boolean lenientNetconf;

    @Option(
            names = "--create-views",
            arity = "0..1",
            defaultValue = "" + DaemonConfig.Defaults.CREATE_VIEWS,
            fallbackValue = "true",
            description = "create a network view a netconf names when the grid lacks it, as the original driver"
                    + " did; false: refuse it with code 7 (default: ${DEFAULT-VALUE})")
    boolean createViews;

    @Option(
            names = "--allowed-subnets",
            defaultValue = "",
            description =
                    "CIDRs a netconf's subnet and network containers must lie within (comma list; must hold --network-container); empty: any (default)")
    String allowedSubnets;

    @Option(
            names = {"--prefix-length", "-prefix-length"},
            defaultValue = "" + DaemonConfig.Defaults.PREFIX_LENGTH,
            description =
                    "prefix length of a carved subnet, 8 to 30; a netconf's ipam.prefix-length wins (default: ${DEFAULT-VALUE})")
    int prefixLength;

    @Option(
            names = {"--cluster-name", "-cluster-name"},
            defaultValue = DaemonConfig.Defaults.CLUSTER_NAME,
            description = "written as EA Tenant ID (default: ${DEFAULT-VALUE})")
    String clusterName;

    @Option(
            names = "--cmp-type",
            defaultValue = DaemonConfig.Defaults.CMP_TYPE,
            description = "written as EA CMP Type (default: ${DEFAULT-VALUE})")
    String cmpType;

    @Option(names = "--host-id", description = "this host's name on its reservations (default: the host name)")
    String hostId;

    @Option(
            names = "--max-connections",
            defaultValue = "" + SocketLimits.DEFAULT_MAX_CONNECTIONS,
            description = "client connections open at once (default: ${DEFAULT-VALUE})")
    int maxConnections;

    @Option(
            names = "--max-peer-connections",
            defaultValue = "" + SocketLimits.DEFAULT_MAX_PEER_CONNECTIONS,
            description =
                    "connections open at once from one non-root peer (default: ${DEFAULT-VALUE}); non-root peers together get at most half")
    int maxPeerConnections;

    @Option(
            names = "--client-io-timeout",
            defaultValue = SocketLimits.DEFAULT_CLIENT_IO_TIMEOUT_SECONDS + "s",
            converter = DurationConverter.class,
            description = "time a client has to send its request, and to take the answer (default: ${DEFAULT-VALUE})")
    Duration clientIoTimeout;

    @Option(
            names = "--max-request-bytes",
            defaultValue = "" + SocketLimits.DEFAULT_MAX_REQUEST_BYTES,
            description = "largest request a client may send (default: ${DEFAULT-VALUE})")
    int maxRequestBytes;
    /** Validates everything; the password comes from the flag, the file, or {@code passwordFromEnv}. */
    public DaemonConfig toConfig(String passwordFromEnv) throws IOException {
        return toConfig(passwordFromEnv, Path.of(DEFAULT_PASSWORD_FILE), true);
    }

    /**
     * Every setting validated except that the grid's host, user and password may be missing: for
     * {@code --print-config}, which must show what is set even when these are not.
     */
    public DaemonConfig toConfigForPrinting(String passwordFromEnv) throws IOException {
        return toConfig(passwordFromEnv, Path.of(DEFAULT_PASSWORD_FILE), false);
    }

    /**
     * As {@link #toConfig(String)}, with the password file read when no other source gives one.
     * A grid host and a user name are required (the original driver's default host was someone's
     * private address), and so is a password: each refusal names the setting.
     */
    DaemonConfig toConfig(String passwordFromEnv, Path defaultPasswordFile, boolean requireGrid) throws IOException {
        String grid = gridHost;
        String user = wapiUsername;
        String password = wapiPassword;
        if (password == null && wapiPasswordFile != null) password = readPasswordFile(wapiPasswordFile);
        if (password == null) password = passwordFromEnv;
        if (password == null && Files.exists(defaultPasswordFile)) password = readPasswordFile(defaultPasswordFile);
        if (!requireGrid) { // stand-ins, never sent anywhere: --print-config shows what is set
            if (grid == null || grid.isBlank()) grid = "unset.invalid";
            if (user == null || user.isBlank()) user = "unset";
            if (password == null || password.isEmpty()) password = "unset";
        }
        if (grid == null || grid.isBlank())
            throw new IllegalArgumentException("--grid-host is not set: name your grid (grid-host = ... in "
                    + ConfigFile.DEFAULT_PATH + ", or --grid-host); there is no default");
        if (user == null || user.isBlank())
            throw new IllegalArgumentException("--wapi-username is not set: name the WAPI user (wapi-username = ... in "
                    + ConfigFile.DEFAULT_PATH + ", or --wapi-username)");
        if (password == null || password.isEmpty())
            throw new IllegalArgumentException("no WAPI password: put it in " + defaultPasswordFile
                    + " (one line, mode 0600), or give --wapi-password-file or the environment's WAPI_PASSWORD");
        if (!wapiScheme.equals("https") && !wapiScheme.equals("http"))
            throw new IllegalArgumentException("--wapi-scheme must be https or http");
        WapiConfig wapi = new WapiConfig(
                grid,
                wapiPort,
                wapiVersion,
                user,
                password,
                SslVerify.parse(sslVerify),
                wapiScheme.equals("https"),
                connectTimeout,
                readTimeout,
                callTimeout,
                maxAnswerBytes,
                maxCalls);
        String host = hostId != null ? hostId : defaultHostId();
        return DaemonConfig.builder()
                .wapi(wapi)
                .socketDir(socketDir)
                .driverName(driverName)
                .socketPermissions(PosixFilePermissions.fromString(socketMode))
                .socketGroup(socketGroup)
                .stateDir(stateDir)
                .cniCacheDir(cniCacheDir)
                .networkView(networkView)
                .networkContainers(NetConf.splitList(networkContainer))
                .prefixLength(prefixLength)
                .clusterName(clusterName)
                .cmpType(cmpType)
                .hostId(host)
                .bounds(new DaemonConfig.VerbBounds(addTimeout, delTimeout))
                .poolSize(poolSize)
                .socketLimits(new SocketLimits(
                        maxConnections,
                        maxPeerConnections,
                        clientIoTimeout,
                        maxRequestBytes,
                        SocketLimits.bufferBudget(Runtime.getRuntime().maxMemory(), maxRequestBytes)))
                .requestBounds(RequestBounds.parse(NetConf.splitList(allowedViews), NetConf.splitList(allowedSubnets)))
                .lenientNetconf(lenientNetconf)
                .createViews(createViews)
                .build();
    }

    private static String defaultHostId() throws IOException {
        Path etcHostname = Path.of("/etc/hostname");
        String name =
                Files.isReadable(etcHostname) ? Files.readString(etcHostname).trim() : "";
        if (name.isEmpty()) name = InetAddress.getLocalHost().getHostName();
        return name.replaceAll("[^a-zA-Z0-9_.\\-]", "-");
    }

    /** Says where the settings came from (the recover command and the daemon read the same file). */
    public void readFrom(ConfigFile file) {
        this.source = file;
    }

    /** The first line of a password file, each way it can fail said with the file and what to do. */
    private static String readPasswordFile(Path file) {
        try {
            String first = Files.readAllLines(file, StandardCharsets.UTF_8).stream()
                    .findFirst()
                    .orElse("");
            if (first.isEmpty())
                throw new IllegalArgumentException("--wapi-password-file " + file + ": the file is empty (the"
                        + " password goes on its first line)");
            return first;
        } catch (java.nio.file.NoSuchFileException e) {
            throw new IllegalArgumentException("--wapi-password-file " + file + ": no such file (create it, one line,"
                    + " mode 0600: sudo install -m 600 /dev/stdin " + file + ")");
        } catch (java.nio.file.AccessDeniedException e) {
            throw new IllegalArgumentException("--wapi-password-file " + file + ": permission denied (it is read as"
                    + " the daemon's user, root; mode 0600 owned by root)");
        } catch (IOException e) {
            throw new IllegalArgumentException("--wapi-password-file " + file + ": cannot be read: " + e.getMessage());
        }
    }

    /** A password given as a flag (visible in ps), not one from the settings file. */
    public boolean passwordOnCommandLine() {
        return wapiPassword != null && !source.setsName("wapi-password");
    }

    /**
     * What is unsafe about this configuration, one sentence each, for the daemon's log and the
     * recover command's stderr: a password others can read, credentials sent in clear, a grid
     * whose certificate is not checked.
     */
    public java.util.List<String> warnings(DaemonConfig config) {
        java.util.List<String> out = new java.util.ArrayList<>();
        if (passwordOnCommandLine())
            out.add("--wapi-password is visible to every user in ps; use env WAPI_PASSWORD or --wapi-password-file");
        Path holdsPassword = wapiPassword != null && source.setsName("wapi-password")
                ? source.path()
                : wapiPassword == null ? wapiPasswordFile : null;
        if (holdsPassword != null) {
            try {
                java.util.Set<java.nio.file.attribute.PosixFilePermission> mode =
                        Files.getPosixFilePermissions(holdsPassword);
                if (mode.stream()
                        .anyMatch(p -> p.name().startsWith("GROUP_") || p.name().startsWith("OTHERS_"))) {
                    out.add("the WAPI password's file " + holdsPassword + " may be read by others (mode "
                            + PosixFilePermissions.toString(mode) + "); chmod 600 it");
                }
            } catch (IOException | UnsupportedOperationException e) {
                // read above already; nothing more to say
            }
        }
        if (!config.wapi().https()) {
            out.add(
                    "--wapi-scheme http: the WAPI user name and password cross the network in clear text (HTTP Basic auth),"
                            + " and nothing proves the other end is the grid; http is for simulators in tests");
        } else if (config.wapi().sslVerify() instanceof SslVerify.Disabled) {
            out.add("--ssl-verify false: the grid's certificate is NOT verified");
        }
        return out;
    }

    /** Accepts 500ms, 5s, 2m, or a bare number of seconds. */
    static final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
        @Override
        public Duration convert(String value) {
            String v = value.trim().toLowerCase();
            if (v.endsWith("ms")) return Duration.ofMillis(Long.parseLong(v.substring(0, v.length() - 2)));
            if (v.endsWith("s")) return Duration.ofSeconds(Long.parseLong(v.substring(0, v.length() - 1)));
            if (v.endsWith("m")) return Duration.ofMinutes(Long.parseLong(v.substring(0, v.length() - 1)));
            return Duration.ofSeconds(Long.parseLong(v));
        }
    }
}
