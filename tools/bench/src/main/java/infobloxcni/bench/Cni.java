package infobloxcni.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The calls the bench makes, as a runtime makes them: the netconf files, the {@code CNI_*}
 * environment, and the command lines of the plugin, the floor client, host-local and the JVM
 * baselines. The floor and {@code java -version} take their JVM flags from {@code bin/infoblox}
 * itself, so they follow any change made to the plugin's flags.
 */
final class Cni {
    static final String NETWORK = "bench";
    static final String NETWORK_NO_POOL = "bench-nopool";
    /** No such namespace: the daemon then reads no MAC (a real ADD spends ~5 ms more on nsenter). */
    private static final String NETNS = "/var/run/netns/infoblox-cni-bench-none";

    private static final String PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    static final Path HOST_LOCAL = Path.of("/usr/lib/cni/host-local");

    final Path root;
    final Path java;
    final List<String> pluginJvmFlags;
    final Path hostLocal;
    final Path stderr;
    /** The netconfs of the bench network (with the pool), of the one without, and of the first ADD. */
    Path pooled, noPool, firstAdd;

    private final Path work;
    private final int poolSize;
    private final Map<String, String> passThrough = new LinkedHashMap<>();
    private Path floorJar, floorAot, noAotJar;

    Cni(Path root, Path work, int poolSize) throws IOException {
        this.root = root;
        this.work = work;
        this.poolSize = poolSize;
        this.stderr = work.resolve("programs.stderr");
        // what the runtime's environment may set for the plugin (bin/infoblox reads these)
        System.getenv().forEach((k, v) -> {
            if (k.startsWith("INFOBLOX_CNI_") && !k.equals("INFOBLOX_CNI_PLUGIN_JAR")) passThrough.put(k, v);
        });
        this.java = javaOfPlugin();
        this.pluginJvmFlags = flagsOf(root.resolve("bin/infoblox"));
        Files.createDirectories(work.resolve("host-local"));
        hostLocal = write(
                work.resolve("host-local.json"),
                "bench-hl",
                "\"type\":\"host-local\",\"subnet\":\"10.200.0.0/16\"," + "\"dataDir\":\"" + work.resolve("host-local")
                        + "\"");
    }

    /** (Re)writes the infoblox netconfs for a daemon whose socket is in {@code socketDir}. */
    void useSocketDir(Path socketDir) throws IOException {
        String ipam = "\"type\":\"infoblox\",\"socket-dir\":\"" + socketDir + "\",\"gateway\":\"0.0.0.1\","
                + "\"routes\":[{\"dst\":\"0.0.0.0/0\"}]";
        pooled = write(
                work.resolve("pooled.json"), NETWORK, ipam + ",\"subnet\":\"10.100.0.0/16\",\"pool-size\":" + poolSize);
        noPool = write(
                work.resolve("nopool.json"), NETWORK_NO_POOL, ipam + ",\"subnet\":\"10.101.0.0/16\",\"pool-size\":0");
        // the first ADD after the exec: the plugin's connect retry covers the gap between bind and listen
        firstAdd = write(
                work.resolve("first.json"),
                NETWORK,
                ipam + ",\"subnet\":\"10.100.0.0/16\",\"pool-size\":" + poolSize + ",\"daemon-connect-timeout\":30");
    }

    private static Path write(Path file, String name, String ipam) throws IOException {
        return Files.writeString(
                file,
                "{\"cniVersion\":\"1.0.0\",\"name\":\"" + name + "\",\"type\":\"bridge\",\"ipam\":{" + ipam + "}}");
    }

    /** The environment a runtime gives an IPAM plugin for one call. */
    static Map<String, String> env(String command, String containerId) {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("CNI_COMMAND", command);
        env.put("CNI_CONTAINERID", containerId);
        env.put("CNI_NETNS", NETNS);
        env.put("CNI_IFNAME", "eth0");
        env.put("CNI_PATH", "/opt/cni/bin:/usr/lib/cni");
        env.put("CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME=" + containerId);
        return env;
    }

    private Map<String, String> processEnv(String command, String containerId) {
        Map<String, String> env = env(command, containerId);
        env.put("PATH", PATH);
        env.putAll(passThrough);
        return env;
    }

    /** bin/infoblox as a runtime execs it. */
    Command plugin(String command, String containerId, Path netconf) {
        return new Command(
                List.of(root.resolve("bin/infoblox").toString()), processEnv(command, containerId), netconf, stderr);
    }

    /** bin/infoblox with a copy of its jar that has no AOT cache beside it (the JDK's CDS archive only). */
    Command pluginWithoutAot(String command, String containerId, Path netconf) {
        Map<String, String> env = processEnv(command, containerId);
        env.put("INFOBLOX_CNI_PLUGIN_JAR", noAotJar.toString());
        return new Command(List.of(root.resolve("bin/infoblox").toString()), env, netconf, stderr);
    }

    Command floor(String command, String containerId, Path netconf, Path socket) {
        List<String> argv = jvm(
                "-XX:AOTCache=" + floorAot,
                "-cp",
                floorJar.toString(),
                "infobloxcni.bench.floor.FloorClient",
                socket.toString());
        return new Command(argv, processEnv(command, containerId), netconf, stderr);
    }

    Command javaVersion() {
        return new Command(jvm("-Xshare:auto", "-version"), Map.of("PATH", PATH), null, null);
    }

    Command hostLocal(String command, String containerId) {
        return new Command(List.of(HOST_LOCAL.toString()), processEnv(command, containerId), hostLocal, stderr);
    }

    static Command binTrue() {
        return new Command(List.of("/bin/true"), Map.of("PATH", PATH), null, null);
    }

    /** java, the plugin's flags, $INFOBLOX_CNI_JAVA_OPTS, then {@code rest}. */
    private List<String> jvm(String... rest) {
        List<String> argv = new ArrayList<>();
        argv.add(java.toString());
        argv.addAll(pluginJvmFlags);
        String opts = passThrough.get("INFOBLOX_CNI_JAVA_OPTS");
        if (opts != null && !opts.isBlank()) argv.addAll(List.of(opts.trim().split("\\s+")));
        argv.addAll(List.of(rest));
        return argv;
    }

    /**
     * Trains the floor client's AOT cache as {@code bin/infoblox --train} trains the plugin's (same
     * java, same flags, a training workload against an in-process fake daemon), and makes the
     * plugin-jar copy without a cache.
     */
    void prepare() throws IOException {
        floorJar = root.resolve("tools/bench/target/bench-floor.jar");
        floorAot = work.resolve("floor.aot");
        List<String> argv = jvm(
                "-Xlog:disable",
                "-Xlog:all=error:stderr",
                "-XX:AOTCacheOutput=" + floorAot,
                "-cp",
                floorJar.toString(),
                "infobloxcni.bench.floor.FloorStartupTraining");
        Path log = work.resolve("floor-train.log");
        Command.Result r = new Command(argv, Map.of("PATH", PATH), null, log).run();
        if (!r.ok() || !Files.exists(floorAot))
            throw new IllegalStateException(
                    "training the floor client's AOT cache failed: " + argv + " exited " + r.exit() + "; see " + log);
        // the jar and the lib/ its manifest names (cni-wire)
        Path pluginTarget = root.resolve("plugin/target");
        Files.createDirectories(work.resolve("no-aot/lib"));
        noAotJar = Files.copy(pluginTarget.resolve("plugin.jar"), work.resolve("no-aot/plugin.jar"));
        try (var libs = Files.list(pluginTarget.resolve("lib"))) {
            for (Path lib : (Iterable<Path>) libs::iterator)
                Files.copy(lib, work.resolve("no-aot/lib").resolve(lib.getFileName()));
        }
    }

    /** The java bin/infoblox picks (its first two choices; the bench runs only where one of them exists). */
    private Path javaOfPlugin() {
        String own = passThrough.get("INFOBLOX_CNI_JAVA");
        if (own != null) return Path.of(own);
        Path temurin = Path.of("/usr/lib/jvm/temurin-25-jdk-amd64/bin/java");
        return Files.isExecutable(temurin) ? temurin : Path.of(System.getProperty("java.home"), "bin", "java");
    }

    /** The -X options of the {@code set -- -Xlog:disable ...} line with which bin/infoblox starts its JVM. */
    static List<String> flagsOf(Path wrapper) throws IOException {
        String text = Files.readString(wrapper).replace("\\\n", " ");
        Matcher m = Pattern.compile("(?m)^set -- (-Xlog:disable[^\n]*)$").matcher(text);
        if (!m.find())
            throw new IllegalStateException(
                    "cannot find the plugin's JVM flags (a line 'set -- -Xlog:disable ...') in " + wrapper);
        List<String> flags = new ArrayList<>();
        for (String token : m.group(1).trim().split("\\s+")) {
            if (token.startsWith("-X")) flags.add(token);
        }
        return List.copyOf(flags);
    }
}
