package infobloxcni.plugin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import infobloxcni.wire.Envelope;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The plugin as a runtime runs it: a separate process, through {@code bin/infoblox} and straight from
 * {@code java -cp target/classes}. Checks that stdout carries exactly one CNI JSON document (or
 * nothing) in every case, whatever the JVM has to say.
 */
class SubprocessTest {

    static final Path MODULE = Path.of("").toAbsolutePath();
    static final Path CLASSES = MODULE.resolve("target/classes");
    /** cni-wire as this test runs it: its jar (mvn verify) or its classes (mvn test). */
    static final Path WIRE = wire();
    /** The plugin's classes and cni-wire's, for {@code java -cp}. */
    static final String CLASS_PATH = CLASSES + File.pathSeparator + WIRE;

    static final Path WRAPPER = MODULE.resolve("../bin/infoblox").normalize();
    static final String JAVA =
            Path.of(System.getProperty("java.home"), "bin", "java").toString();

    @TempDir
    static Path shared;
    /** An installed layout built from target/classes: bin/infoblox and lib/infoblox-cni/plugin.jar. */
    static Path installed;
    /** target/classes and cni-wire, named by the manifest of a jar with nothing else: what bin/infoblox runs in the source tree. */
    static Path classesJar;

    @TempDir
    Path dir;

    record Result(int exitCode, String stdout, String stderr) {
        Map<?, ?> json() {
            try {
                return assertInstanceOf(
                        Map.class, MiniJson.parse(stdout.getBytes(StandardCharsets.UTF_8)), "stdout: " + stdout);
            } catch (MiniJson.JsonException e) {
                throw new AssertionError(
                        "stdout is not exactly one JSON document: [" + stdout + "] stderr: " + stderr, e);
            }
        }
    }

    @BeforeAll
    static void install() throws IOException {
        installed = shared.resolve("opt");
        Files.createDirectories(installed.resolve("bin"));
        Files.createDirectories(installed.resolve("lib/infoblox-cni"));
        Files.copy(WRAPPER, installed.resolve("bin/infoblox"));
        jar(installed.resolve("lib/infoblox-cni/plugin.jar"));
        classesJar = shared.resolve("classes/plugin.jar");
        Files.createDirectories(classesJar.getParent());
        jar(classesJar, null, CLASSES.toUri() + " " + WIRE.toUri());
    }

    private static Path wire() {
        try {
            return Path.of(Envelope.class
                    .getProtectionDomain()
                    .getCodeSource()
                    .getLocation()
                    .toURI());
        } catch (URISyntaxException e) {
            throw new AssertionError(e);
        }
    }

    /**
     * target/classes as a jar (the real one is only packaged after the tests), with cni-wire where
     * the real one's manifest names it: lib/ beside it.
     */
    static void jar(Path jar) throws IOException {
        Path lib = Files.createDirectories(jar.resolveSibling("lib"));
        Path wireJar = lib.resolve("cni-wire-test.jar");
        if (Files.isDirectory(WIRE)) {
            jar(wireJar, WIRE, null);
        } else {
            Files.copy(WIRE, wireJar);
        }
        jar(jar, CLASSES, "lib/" + wireJar.getFileName());
    }

    /** A jar of the files under {@code classes} (none when null) whose manifest has this Class-Path (none when null). */
    static void jar(Path jar, Path classes, String classPath) throws IOException {
        Manifest mf = new Manifest();
        mf.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        mf.getMainAttributes().put(Attributes.Name.MAIN_CLASS, "infobloxcni.plugin.PluginMain");
        if (classPath != null) {
            mf.getMainAttributes().put(Attributes.Name.CLASS_PATH, classPath);
        }
        try (OutputStream out = Files.newOutputStream(jar);
                JarOutputStream j = new JarOutputStream(out, mf)) {
            if (classes == null) {
                return;
            }
            try (Stream<Path> files = Files.walk(classes)) {
                for (Path f :
                        (Iterable<Path>) files.filter(Files::isRegularFile).sorted()::iterator) {
                    j.putNextEntry(new ZipEntry(classes.relativize(f).toString().replace('\\', '/')));
                    j.write(Files.readAllBytes(f));
                    j.closeEntry();
                }
            }
        }
    }

    static Map<String, String> env(String command) {
        Map<String, String> env = new HashMap<>();
        env.put("PATH", "/usr/bin:/bin");
        if (command != null) {
            env.put("CNI_COMMAND", command);
        }
        env.put("CNI_CONTAINERID", "ctr-1");
        env.put("CNI_NETNS", "/var/run/netns/ctr-1");
        env.put("CNI_IFNAME", "eth0");
        env.put("CNI_PATH", "/opt/cni/bin");
        env.put("INFOBLOX_CNI_JAVA", JAVA);
        return env;
    }

    static Result exec(List<String> command, Map<String, String> env, String stdin) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().clear();
        pb.environment().putAll(env);
        // files, not pipes: a chatty process cannot block on a full pipe
        Path out = Files.createTempFile("plugin-out", ".txt");
        Path err = Files.createTempFile("plugin-err", ".txt");
        pb.redirectOutput(out.toFile()).redirectError(err.toFile());
        try {
            Process p = pb.start();
            try (OutputStream in = p.getOutputStream()) {
                in.write(stdin.getBytes(StandardCharsets.UTF_8));
            } catch (IOException ignored) {
                // the plugin may exit without reading everything
            }
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("plugin did not exit: " + command + ", stderr: " + Files.readString(err));
            }
            return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** bin/infoblox from the source tree, on target/classes. */
    Result wrapper(Map<String, String> env, String stdin) throws Exception {
        env.put("INFOBLOX_CNI_PLUGIN_JAR", classesJar.toString());
        return exec(List.of(WRAPPER.toString()), env, stdin);
    }

    String netconf(String extraIpam) {
        return "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"bridge\",\"ipam\":{\"type\":\"infoblox\","
                + "\"socket-dir\":" + MiniJson.quote(dir.toString()) + extraIpam + "}}";
    }

    // ---- java -cp target/classes ------------------------------------------------------------------

    @Test
    void javaClassesPassesStdoutAndExitCodeThrough() throws Exception {
        String error = "{\"cniVersion\":\"1.0.0\",\"code\":3,\"msg\":\"container unknown\"}";
        try (FakeDaemon daemon = new FakeDaemon(dir.resolve("infoblox.sock"), r -> Envelope.Response.of(3, error))) {
            Result r =
                    exec(List.of(JAVA, "-cp", CLASS_PATH, "infobloxcni.plugin.PluginMain"), env("CHECK"), netconf(""));
            assertEquals(3, r.exitCode(), r.toString());
            assertEquals(error, r.stdout());
            assertEquals("CHECK", daemon.requests.get(0).env().get("CNI_COMMAND"));
            assertFalse(daemon.requests.get(0).env().containsKey("PATH"));
        }
    }

    // ---- bin/infoblox -----------------------------------------------------------------------------

    /** A person typing infoblox --version gets the version, not CNI error JSON ("CNI_COMMAND is not set"). */
    @Test
    void versionFlagPrintsTheVersion() throws Exception {
        Map<String, String> env = env(null);
        env.put("INFOBLOX_CNI_PLUGIN_JAR", classesJar.toString());
        Result r = exec(List.of(WRAPPER.toString(), "--version"), env, "");
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(r.stdout().matches("infoblox-cni plugin \\S+ \\(CNI 1\\.\\d\\.\\d\\)\n"), r.toString());
    }

    @Test
    void wrapperAdd() throws Exception {
        try (FakeDaemon daemon = FakeDaemon.healthy(dir.resolve("infoblox.sock"))) {
            Result r = wrapper(env("ADD"), netconf(""));
            assertEquals(0, r.exitCode(), r.toString());
            assertEquals(FakeDaemon.ADD_RESULT, r.stdout());
            assertEquals("", r.stderr());
            assertEquals(netconf(""), FakeDaemon.str(daemon.requests.get(0).stdin()));
            assertFalse(daemon.requests.get(0).env().containsKey("INFOBLOX_CNI_JAVA"));
        }
    }

    @Test
    void wrapperVersionMissingCommandMissingSocketTimeout() throws Exception {
        Result r = wrapper(env("VERSION"), "{\"cniVersion\":\"0.4.0\"}");
        assertEquals(0, r.exitCode(), r.toString());
        assertEquals("0.4.0", r.json().get("cniVersion"));

        r = wrapper(env(null), netconf(""));
        assertEquals(1, r.exitCode());
        assertEquals(4L, r.json().get("code"));

        r = wrapper(env("DEL"), netconf(",\"daemon-connect-timeout\":0"));
        assertEquals(1, r.exitCode());
        assertEquals(11L, r.json().get("code"));
        assertTrue(((String) r.json().get("msg"))
                .contains(dir.resolve("infoblox.sock").toString()));

        try (FakeDaemon daemon = new FakeDaemon(dir.resolve("infoblox.sock"), req -> {
            PluginMainTest.sleep(30_000);
            return null;
        })) {
            r = wrapper(env("ADD"), netconf(",\"daemon-timeout\":1"));
            assertEquals(1, r.exitCode());
            assertEquals(11L, r.json().get("code"));
            assertTrue(((String) r.json().get("msg")).contains("within 1 s"), r.stdout());
        }
    }

    @Test
    void nonAsciiValuesReachTheDaemonIntactUnderTheCLocale() throws Exception {
        // the JVM decodes System.getenv() with the locale's charset: under LANG=C both of these became
        // "K8S_POD_NAME=p\uFFFD\uFFFD...", the same string
        for (String pod : List.of("p\u00e9", "p\u00e8")) {
            try (FakeDaemon daemon = FakeDaemon.healthy(dir.resolve("infoblox.sock"))) {
                Map<String, String> env = env("ADD");
                env.put("LC_ALL", "C");
                env.put("CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAME=" + pod);
                Result direct =
                        exec(List.of(JAVA, "-cp", CLASS_PATH, "infobloxcni.plugin.PluginMain"), env, netconf(""));
                assertEquals(0, direct.exitCode(), direct.toString());
                Result wrapped = wrapper(env, netconf(""));
                assertEquals(0, wrapped.exitCode(), wrapped.toString());
                for (Envelope.Request request : daemon.requests) {
                    assertEquals(
                            "IgnoreUnknown=1;K8S_POD_NAME=" + pod, request.env().get("CNI_ARGS"));
                }
                assertEquals(2, daemon.requests.size());
            }
        }
    }

    @Test
    void aValueThatIsNotUtf8IsCode4NamingTheVariable() throws Exception {
        try (FakeDaemon daemon = FakeDaemon.healthy(dir.resolve("infoblox.sock"))) {
            Map<String, String> env = env("ADD");
            env.remove("CNI_CONTAINERID");
            Result r = exec(
                    List.of(
                            "sh",
                            "-c",
                            "CNI_CONTAINERID=$(printf 'c\\377\\376'); export CNI_CONTAINERID; exec \"$@\"",
                            "sh",
                            JAVA,
                            "-cp",
                            CLASS_PATH,
                            "infobloxcni.plugin.PluginMain"),
                    env,
                    netconf(""));
            assertEquals(1, r.exitCode(), r.toString());
            assertEquals(4L, r.json().get("code"), r.toString());
            assertTrue(((String) r.json().get("msg")).contains("CNI_CONTAINERID"), r.stdout());
            assertEquals(0, daemon.requests.size(), "nothing forwarded");
        }
    }

    @Test
    void jvmOptionsFromTheEnvironmentCannotReachStdout() throws Exception {
        Map<String, String> env = env("VERSION");
        env.put("JAVA_TOOL_OPTIONS", "-verbose:class -Xlog:all=info:stdout");
        env.put("JDK_JAVA_OPTIONS", "-verbose:gc -XshowSettings:all");
        env.put("_JAVA_OPTIONS", "-verbose:class");
        Result r = wrapper(env, "{\"cniVersion\":\"1.1.0\"}");
        assertEquals(0, r.exitCode(), r.toString());
        assertEquals("1.1.0", r.json().get("cniVersion"));
    }

    @Test
    void programNameComesFromTheFileName() throws Exception {
        Path link = dir.resolve("ib-other");
        Files.createSymbolicLink(link, WRAPPER);
        try (FakeDaemon daemon = FakeDaemon.healthy(dir.resolve("ib-other.sock"))) {
            Map<String, String> env = env("ADD");
            env.put("INFOBLOX_CNI_PLUGIN_JAR", classesJar.toString());
            String noType =
                    "{\"cniVersion\":\"1.0.0\",\"ipam\":{\"socket-dir\":" + MiniJson.quote(dir.toString()) + "}}";
            Result r = exec(List.of(link.toString()), env, noType);
            assertEquals(0, r.exitCode(), r.toString());
            assertEquals(FakeDaemon.ADD_RESULT, r.stdout());
        }
    }

    // ---- installed layout and the start-up archive ------------------------------------------------

    Result installedRun(String command, String stdin) throws Exception {
        return exec(List.of(installed.resolve("bin/infoblox").toString()), env(command), stdin);
    }

    @Test
    void installedLayoutWithBrokenOrStaleArchives() throws Exception {
        Path jar = installed.resolve("lib/infoblox-cni/plugin.jar");
        Path aot = installed.resolve("lib/infoblox-cni/plugin.aot");
        try (FakeDaemon daemon = FakeDaemon.healthy(dir.resolve("infoblox.sock"))) {
            Result r = installedRun("ADD", netconf(""));
            assertEquals(0, r.exitCode(), r.toString());
            assertEquals(FakeDaemon.ADD_RESULT, r.stdout());

            // garbage where the archive should be, newer than the jar: the JVM complains on stderr only
            Files.writeString(aot, "not an archive");
            Files.setLastModifiedTime(
                    aot, FileTime.fromMillis(Files.getLastModifiedTime(jar).toMillis() + 10_000));
            r = installedRun("ADD", netconf(""));
            assertEquals(0, r.exitCode(), r.toString());
            assertEquals(FakeDaemon.ADD_RESULT, r.stdout());
            assertTrue(r.stderr().toLowerCase(java.util.Locale.ROOT).contains("aot"), r.stderr());

            // an archive older than the jar is not even tried
            Files.setLastModifiedTime(
                    aot, FileTime.fromMillis(Files.getLastModifiedTime(jar).toMillis() - 10_000));
            r = installedRun("ADD", netconf(""));
            assertEquals(0, r.exitCode(), r.toString());
            assertEquals(FakeDaemon.ADD_RESULT, r.stdout());
            assertEquals("", r.stderr());
        } finally {
            Files.deleteIfExists(aot);
        }
    }

    @Test
    void trainedArchiveIsUsedAndAStaleOneIsNot() throws Exception {
        Path lib = dir.resolve("opt/lib/infoblox-cni");
        Files.createDirectories(lib);
        Files.createDirectories(dir.resolve("opt/bin"));
        Path wrapper = Files.copy(WRAPPER, dir.resolve("opt/bin/infoblox"));
        Path jar = lib.resolve("plugin.jar");
        jar(jar);
        Files.setLastModifiedTime(jar, FileTime.fromMillis(System.currentTimeMillis() - 60_000));
        FileTime trained = Files.getLastModifiedTime(jar);
        Map<String, String> trainEnv = env(null);
        trainEnv.put("JAVA_TOOL_OPTIONS", "-Dinfoblox.test=1"); // the JVM says "Picked up ..." for each JVM
        Result t = exec(List.of(wrapper.toString(), "--train"), trainEnv, "");
        assertEquals(0, t.exitCode(), t.toString());
        assertEquals("", t.stdout(), "training prints nothing on stdout");
        // one line saying what was built: the JVM's narration of the archive's making only on failure
        assertTrue(
                t.stderr().strip().matches("infoblox: wrote the start-up archive \\S+plugin\\.aot \\(\\d+ MiB\\)"),
                t.stderr());
        Path aot = lib.resolve("plugin.aot");
        assertTrue(Files.size(aot) > 0);
        assertFalse(Files.exists(lib.resolve("plugin.aot.config")));
        try (Stream<Path> files = Files.list(lib)) {
            assertEquals(
                    List.of("lib", "plugin.aot", "plugin.jar"),
                    files.map(p -> p.getFileName().toString()).sorted().toList(),
                    "no temporary files left");
        }

        Map<String, String> env = env("ADD");
        env.put("INFOBLOX_CNI_JAVA_OPTS", "-Xlog:class+load=info:stderr");
        List<String> cmd = new ArrayList<>(List.of(wrapper.toString()));
        try (FakeDaemon daemon = FakeDaemon.healthy(dir.resolve("infoblox.sock"))) {
            Result r = exec(cmd, env, netconf(""));
            assertEquals(0, r.exitCode(), r.toString());
            assertEquals(FakeDaemon.ADD_RESULT, r.stdout());
            assertTrue(
                    r.stderr().contains("infobloxcni.plugin.PluginMain source: shared objects file"),
                    "the archive is used");

            // the jar is rebuilt after training: the archive must not serve the old classes
            // (JDK 25.0.3 does not notice by itself: JDK-8377932)
            Files.setLastModifiedTime(jar, FileTime.fromMillis(System.currentTimeMillis() + 60_000));
            r = exec(cmd, env, netconf(""));
            assertEquals(0, r.exitCode(), r.toString());
            assertEquals(FakeDaemon.ADD_RESULT, r.stdout());
            assertFalse(
                    r.stderr().contains("infobloxcni.plugin.PluginMain source: shared objects file"),
                    "a stale archive is not used");

            // so is the archive when the jar the manifest adds (cni-wire) is newer than the archive
            Files.setLastModifiedTime(jar, trained);
            r = exec(cmd, env, netconf(""));
            assertTrue(
                    r.stderr().contains("infobloxcni.plugin.PluginMain source: shared objects file"),
                    "the archive is used again");
            Files.setLastModifiedTime(
                    lib.resolve("lib/cni-wire-test.jar"), FileTime.fromMillis(System.currentTimeMillis() + 60_000));
            r = exec(cmd, env, netconf(""));
            assertEquals(0, r.exitCode(), r.toString());
            assertEquals(FakeDaemon.ADD_RESULT, r.stdout());
            assertFalse(
                    r.stderr().contains("infobloxcni.plugin.PluginMain source: shared objects file"),
                    "an archive older than cni-wire's jar is not used");
        }
    }
}
