package infobloxcni.packaging;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import infobloxcni.daemon.DaemonMain;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/**
 * The host install as an operator gets it: the tarball and the .deb that this module's package
 * phase built (build-tree stages the tree with bin/install-host and packs it; jdeb makes the .deb
 * from that tarball).
 *
 * <p>Without root: both hold one tree, with the layout's modes; the tarball's launchers run
 * wherever it is unpacked; daemon.conf names the daemon's real flags with their real defaults.
 *
 * <p>As root (CI): the .deb is installed on this host with dpkg, run from the installed paths,
 * upgraded over itself and then to a newer version made from it, removed (the conffiles stay) and
 * purged (nothing stays), and the host's /opt, systemd configuration and deb-systemd-helper state
 * are compared with what they were before. Whatever fails, the package is purged at the end. A
 * host that already has an infoblox-cni install is left alone: the test would overwrite it and
 * then purge its configuration and journal.
 */
class PackageIT {
    static final Path TARGET =
            Path.of(System.getProperty("packaging.target", "target")).toAbsolutePath();
    static final Path TARBALL = Path.of(System.getProperty("packaging.tarball", "target/missing.tar.gz"))
            .toAbsolutePath();
    static final Path MODULE = Path.of(System.getProperty("user.dir"));
    static final String PACKAGE = "infoblox-cni";
    static final Path PREFIX = Path.of("/opt/infoblox-cni");
    static final Path LIB = PREFIX.resolve("lib/infoblox-cni");
    static final Path PLUGIN = Path.of("/opt/cni/bin/infoblox");
    static final Path AOT = LIB.resolve("plugin.aot");
    static final Path DAEMON_AOT = LIB.resolve("daemon.aot");
    static final Path DAEMON_CONF = Path.of("/etc/infoblox-cni/daemon.conf");
    static final Path DEFAULTS = Path.of("/etc/default/infoblox-cni");
    static final Path PASSWORD = Path.of("/etc/infoblox-cni/wapi-password");
    static final Path STATE = Path.of("/var/lib/infoblox-cni");
    static final Path SOCKET_ENABLED = Path.of("/etc/systemd/system/sockets.target.wants/infoblox-cni-daemon.socket");
    /** The man pages, and an option each must show (the daemon's and recover's are generated from their command specs). */
    static final Map<String, String> MAN_PAGES = Map.of(
            "infoblox-cni-daemon", "--grid-host",
            "infoblox-cni-recover", "--apply",
            "infoblox", "--train");

    static final List<String> COMPLETIONS = List.of("infoblox-cni-daemon", "infoblox-cni-recover");
    static final Path DOC = Path.of("/usr/share/doc/infoblox-cni");
    static final List<String> CONFFILES =
            List.of("/etc/default/infoblox-cni", "/etc/infoblox-cni/daemon.conf", "/etc/infoblox-cni/daemon.env");
    /** Everything the package, its scripts or its operator may create: none of it may exist before, or after a purge. */
    static final List<Path> OURS = Stream.of(
                    "/opt/infoblox-cni",
                    "/opt/cni/bin/infoblox",
                    "/etc/infoblox-cni",
                    "/etc/default/infoblox-cni",
                    "/var/lib/infoblox-cni",
                    "/lib/systemd/system/infoblox-cni-daemon.socket",
                    "/lib/systemd/system/infoblox-cni-daemon.service",
                    "/etc/systemd/system/infoblox-cni-daemon.socket",
                    "/etc/systemd/system/infoblox-cni-daemon.service",
                    SOCKET_ENABLED.toString(),
                    "/etc/systemd/system/multi-user.target.wants/infoblox-cni-daemon.service",
                    "/usr/sbin/infoblox-cni-daemon",
                    "/usr/sbin/infoblox-cni-recover",
                    "/usr/share/man/man8/infoblox.8.gz",
                    "/usr/share/man/man8/infoblox-cni-daemon.8.gz",
                    "/usr/share/man/man8/infoblox-cni-recover.8.gz",
                    "/usr/share/bash-completion/completions/infoblox-cni-daemon",
                    "/usr/share/bash-completion/completions/infoblox-cni-recover",
                    DOC.toString())
            .map(Path::of)
            .toList();

    static final String VERSION_STDIN = "{\"cniVersion\":\"1.0.0\"}";
    static final Duration TIMEOUT = Duration.ofMinutes(5);

    // ---- without root ----

    @Test
    void theTarballAndTheDebHoldOneTreeWithTheLayoutsModes() throws Exception {
        assumeTrue(onPath("dpkg-deb"), "dpkg-deb not installed (not a Debian host)");
        Map<String, Entry> tar = entries(run(Map.of(), null, "tar", "-tvzf", TARBALL.toString()));
        Map<String, Entry> deb = entries(run(Map.of(), null, "dpkg-deb", "--contents", deb().toString()));

        // the same entries with the same modes, owners and link targets; the .deb adds parents only
        tar.forEach((name, entry) -> assertEquals(entry, deb.get(name), name + " in the .deb as in the tarball"));
        deb.forEach((name, entry) -> {
            if (tar.containsKey(name)) return;
            assertEquals(new Entry("drwxr-xr-x", "root/root", null), entry, name + ": a parent the .deb adds");
            assertFalse(name.contains("infoblox-cni"), name + " is ours, yet only the .deb has it");
        });
        // the tarball, unpacked over /, has no entry for a directory that is not ours (/opt, /etc, /lib...)
        tar.forEach((name, entry) -> assertTrue(!entry.mode().startsWith("d") || name.contains("infoblox-cni"), name));

        Map<String, Entry> expected = new LinkedHashMap<>();
        for (String launcher : List.of("infoblox", "infoblox-cni-daemon", "infoblox-cni-recover")) {
            expected.put("opt/infoblox-cni/bin/" + launcher, new Entry("-rwxr-xr-x", "root/root", null));
        }
        for (String sourced : List.of("launch.sh", "host-defaults.sh")) {
            expected.put("opt/infoblox-cni/bin/lib/" + sourced, new Entry("-rw-r--r--", "root/root", null));
        }
        for (String jar : List.of("plugin.jar", "daemon.jar", "recovery.jar")) {
            expected.put("opt/infoblox-cni/lib/infoblox-cni/" + jar, new Entry("-rw-r--r--", "root/root", null));
        }
        for (String unit : List.of("infoblox-cni-daemon.socket", "infoblox-cni-daemon.service")) {
            expected.put("lib/systemd/system/" + unit, new Entry("-rw-r--r--", "root/root", null));
        }
        expected.put("opt/cni/bin/infoblox", new Entry("lrwxrwxrwx", "root/root", "/opt/infoblox-cni/bin/infoblox"));
        for (String program : List.of("infoblox-cni-daemon", "infoblox-cni-recover")) {
            expected.put(
                    "usr/sbin/" + program, new Entry("lrwxrwxrwx", "root/root", "/opt/infoblox-cni/bin/" + program));
            expected.put(
                    "usr/share/bash-completion/completions/" + program, new Entry("-rw-r--r--", "root/root", null));
        }
        for (String page : MAN_PAGES.keySet()) {
            expected.put("usr/share/man/man8/" + page + ".8.gz", new Entry("-rw-r--r--", "root/root", null));
        }
        expected.put("usr/share/doc/infoblox-cni", new Entry("drwxr-xr-x", "root/root", null));
        expected.put("usr/share/doc/infoblox-cni/copyright", new Entry("-rw-r--r--", "root/root", null));
        expected.put("usr/share/doc/infoblox-cni/changelog.Debian.gz", new Entry("-rw-r--r--", "root/root", null));
        expected.put("etc/infoblox-cni", new Entry("drwx------", "root/root", null));
        expected.put("etc/infoblox-cni/daemon.conf", new Entry("-rw-------", "root/root", null));
        expected.put("etc/infoblox-cni/daemon.env", new Entry("-rw-------", "root/root", null));
        expected.put("etc/default/infoblox-cni", new Entry("-rw-r--r--", "root/root", null));
        expected.forEach((name, entry) -> assertEquals(entry, deb.get(name), name));
        List<String> libs = deb.keySet().stream()
                .filter(n -> n.startsWith("opt/infoblox-cni/lib/infoblox-cni/lib/"))
                .toList();
        assertTrue(
                libs.stream().anyMatch(n -> n.contains("/jackson-databind-")),
                "the daemon's dependencies are in lib/: " + libs);
        assertTrue(
                libs.stream().anyMatch(n -> n.contains("/cni-wire-")),
                "the plugin's (and the daemon's) cni-wire is in lib/: " + libs);
        libs.forEach(n -> assertEquals(new Entry("-rw-r--r--", "root/root", null), deb.get(n), n));
        // one daemon jar: recovery runs with daemon.jar (its manifest names it), not a copy in lib/
        assertEquals(
                List.of("opt/infoblox-cni/lib/infoblox-cni/daemon.jar"),
                deb.keySet().stream()
                        .filter(n -> n.matches(".*/daemon[^/]*\\.jar"))
                        .toList());
        // directories shared with others are not the package's: dpkg would warn on every purge
        // that /opt is not empty (packaging/deb-shared-dirs)
        for (String shared : List.of("opt", "opt/cni", "opt/cni/bin")) {
            assertFalse(deb.containsKey(shared), shared + " is no entry of the .deb");
        }

        Run conffiles = run(Map.of(), null, "dpkg-deb", "--info", deb().toString(), "conffiles");
        assertEquals(CONFFILES, conffiles.out().lines().toList(), conffiles.toString());
        Run control =
                run(Map.of(), null, "dpkg-deb", "--field", deb().toString(), "Package", "Architecture", "Depends");
        assertEquals(
                List.of("Package: infoblox-cni", "Architecture: all", "Depends: iproute2"),
                control.out().lines().toList(),
                control.toString());
        Run fields = run(Map.of(), null, "dpkg-deb", "--field", deb().toString(), "Version", "Maintainer");
        Matcher m = Pattern.compile("Version: (\\S+)\nMaintainer: (.+ <[^@<> ]+@[^@<> ]+>)\n")
                .matcher(fields.out());
        assertTrue(m.matches(), "a version and a Maintainer 'Name <address>' (-Ddeb.maintainer): " + fields);
        // changelog.Debian: one entry, for the package's version, signed by its Maintainer
        Run changelog = run(
                Map.of(),
                null,
                "sh",
                "-c",
                "tar -xzOf \"$0\" usr/share/doc/infoblox-cni/changelog.Debian.gz | gzip -dc",
                TARBALL.toString());
        assertTrue(changelog.ok(), changelog.toString());
        assertTrue(
                changelog.out().startsWith("infoblox-cni (" + m.group(1) + ") unstable; urgency=medium\n"),
                changelog.toString());
        assertTrue(changelog.out().contains("\n -- " + m.group(2) + "  "), changelog.toString());
    }

    /** README's tarball install and upgrade, into a directory that stands for /. */
    @Test
    void theTarballInstallsAndUpgradesAsTheReadmeSaysAndRunsWhereverItIsUnpacked(@TempDir Path dir) throws Exception {
        // a merged-/usr root (/lib is a link to usr/lib) with an /opt of its own mode
        Path root = Files.createDirectory(dir.resolve("root"));
        Files.createDirectories(root.resolve("usr/lib"));
        Files.createSymbolicLink(root.resolve("lib"), Path.of("usr/lib"));
        Files.createDirectory(
                root.resolve("opt"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx--x--x")));
        Run install = run(Map.of(), null, "tar", "-xzf", TARBALL.toString(), "-C", root.toString());
        assertTrue(install.ok(), install.toString());
        assertTrue(Files.isSymbolicLink(root.resolve("lib")), "the /lib link is kept");
        assertTrue(
                Files.isRegularFile(root.resolve("usr/lib/systemd/system/infoblox-cni-daemon.service")),
                "units through the link");
        assertEquals("rwx--x--x", mode(root.resolve("opt")), "the mode of a directory that is not ours is kept");

        Path prefix = root.resolve("opt/infoblox-cni");
        // a JDK 25 for the launchers: the one running this test (the fixed Temurin path may be absent)
        Map<String, String> env = Map.of("JAVA_HOME", System.getProperty("java.home"));
        assertPluginAnswersVersion(prefix.resolve("bin/infoblox"), env);
        assertHelps(prefix, env, dir);

        // upgrade: a fresh tree, the configuration kept
        Path conf = root.resolve("etc/infoblox-cni/daemon.conf");
        Files.writeString(conf, "grid-host = grid.example.com\n");
        deleteTree(prefix);
        Run upgrade = run(Map.of(), null, "tar", "-xzf", TARBALL.toString(), "-C", root.toString(), "--exclude=etc");
        assertTrue(upgrade.ok(), upgrade.toString());
        assertEquals("grid-host = grid.example.com\n", Files.readString(conf), "the operator's daemon.conf is kept");
        assertPluginAnswersVersion(prefix.resolve("bin/infoblox"), env);
    }

    @Test
    void daemonConfNamesTheDaemonsFlagsWithTheirDefaults() throws Exception {
        List<String> lines = Files.readAllLines(MODULE.resolve("daemon.conf"), UTF_8);
        CommandLine daemon = new CommandLine(new DaemonMain());
        Pattern setting = Pattern.compile("# ([a-z][a-z-]*) =(?: (.*))?");
        Set<String> keys = new TreeSet<>();
        for (String line : lines) {
            assertTrue(line.isBlank() || line.startsWith("#"), "every line is commented out: " + line);
            Matcher m = setting.matcher(line);
            if (!m.matches()) continue;
            String key = m.group(1), value = m.group(2) == null ? "" : m.group(2);
            OptionSpec option = daemon.getCommandSpec().findOption("--" + key);
            assertNotNull(option, key + " is no flag of infoblox-cni-daemon");
            // picocli's properties default provider looks an option up by its longest name
            assertEquals("--" + key, option.longestName(), key);
            String defaultValue = option.defaultValue() == null ? "" : option.defaultValue();
            // a boolean flag that declares no default is false until given (--lenient-netconf)
            if (option.defaultValue() == null && option.type() == boolean.class) defaultValue = "false";
            assertEquals(defaultValue, value, key + ": the value shown is the daemon's default");
            keys.add(key);
        }
        assertTrue(
                keys.containsAll(Set.of("grid-host", "wapi-username", "ssl-verify", "network-view", "pool-size")),
                keys.toString());
    }

    // ---- as root: the .deb on this host ----

    @Test
    void theDebInstallsUpgradesRemovesAndPurgesOnThisHost(@TempDir Path dir) throws Exception {
        assumeTrue(
                run(Map.of(), null, "id", "-u").out().strip().equals("0"),
                "not root: the .deb is installed on this host with dpkg (CI runs as root)");
        assertTrue(onPath("dpkg"), "dpkg not found: the package test needs a Debian host");
        List<Path> present = OURS.stream()
                .filter(p -> Files.exists(p, LinkOption.NOFOLLOW_LINKS))
                .toList();
        assumeTrue(
                !known() && present.isEmpty(),
                "this host already has an infoblox-cni install (dpkg: "
                        + run(Map.of(), null, "dpkg-query", "-W", PACKAGE)
                        + "; paths: " + present
                        + "): the test would overwrite it, then purge its configuration and journal."
                        + " If it is what an earlier run of this test left: dpkg --purge infoblox-cni");
        needIproute2();
        Path deb = deb();
        String version = run(Map.of(), null, "dpkg-deb", "--field", deb.toString(), "Version")
                .out()
                .strip();
        Map<String, String> before = hostState();
        try {
            // install
            Run install = dpkg("-i", deb.toString());
            assertTrue(install.ok(), install.toString());
            assertTrue(install.out().contains("built the plugin's start-up archive"), install.toString());
            assertEquals("install ok installed " + version, status());
            Run listed = run(Map.of(), null, "dpkg", "-L", PACKAGE);
            for (String path : List.of(
                    "/opt/cni/bin/infoblox",
                    "/opt/infoblox-cni/bin/infoblox-cni-daemon",
                    "/opt/infoblox-cni/lib/infoblox-cni/plugin.jar",
                    "/lib/systemd/system/infoblox-cni-daemon.socket",
                    "/etc/infoblox-cni/daemon.conf",
                    "/etc/default/infoblox-cni")) {
                assertTrue(listed.out().lines().anyMatch(path::equals), path + " in dpkg -L:\n" + listed);
            }
            Run conffiles = run(Map.of(), null, "dpkg-query", "-W", "-f", "${Conffiles}", PACKAGE);
            assertEquals(
                    CONFFILES,
                    conffiles
                            .out()
                            .lines()
                            .map(String::strip)
                            .filter(l -> !l.isEmpty())
                            .map(l -> l.split(" ")[0])
                            .toList(),
                    conffiles.toString());
            assertEquals("rwx------", mode(Path.of("/etc/infoblox-cni")));
            assertEquals("rw-------", mode(DAEMON_CONF));
            assertEquals("rwxr-xr-x", mode(PREFIX.resolve("bin/infoblox-cni-daemon")));
            assertArchiveMadeForTheInstalledJar();
            assertPluginAnswersVersion(PLUGIN, Map.of());
            assertHelps(PREFIX, Map.of(), dir);
            assertOnPathWithManPagesAndCompletion(dir);
            assertUnitsVerify();
            assertFalse(Files.exists(SOCKET_ENABLED, LinkOption.NOFOLLOW_LINKS), "installed, not enabled");

            // the operator configures and enables; the daemon writes its journal
            Files.writeString(DAEMON_CONF, Files.readString(DAEMON_CONF) + "grid-host = grid.example.com\n");
            Files.writeString(PASSWORD, "secret\n");
            Files.createDirectories(STATE.resolve("journal"));
            Files.writeString(STATE.resolve("journal/log-0000000001"), "journal");
            boolean systemctl = onPath("systemctl");
            if (systemctl) {
                Run enable = run(Map.of(), null, "systemctl", "enable", "infoblox-cni-daemon.socket");
                assertTrue(enable.ok() && Files.isSymbolicLink(SOCKET_ENABLED), enable.toString());
            }

            // upgrade over itself, then to a newer version made from this one
            FileTime firstArchive = Files.getLastModifiedTime(AOT);
            Run again = dpkg("-i", deb.toString());
            assertTrue(again.ok(), again.toString());
            Path newer = newerVersion(deb, version + "+test2", dir);
            Run upgrade = dpkg("-i", newer.toString());
            assertTrue(upgrade.ok(), upgrade.toString());
            assertTrue(upgrade.out().contains("over (" + version + ")"), upgrade.toString());
            assertEquals("install ok installed " + version + "+test2", status());
            assertTrue(
                    Files.getLastModifiedTime(AOT).compareTo(firstArchive) > 0,
                    "prerm dropped the archive, postinst made a new one");
            assertArchiveMadeForTheInstalledJar();
            assertPluginAnswersVersion(PLUGIN, Map.of());
            assertTrue(
                    Files.readString(DAEMON_CONF).contains("grid-host = grid.example.com"),
                    "the operator's daemon.conf is kept");
            assertTrue(Files.exists(PASSWORD) && Files.exists(STATE.resolve("journal/log-0000000001")));
            assertEquals(systemctl, Files.isSymbolicLink(SOCKET_ENABLED), "an enabled socket stays enabled");

            // INFOBLOX_CNI_JAVA from /etc/default/infoblox-cni: every launcher takes it, and an
            // install with no working java says so and succeeds
            String noJava = dir.resolve("no-such-java").toString();
            Files.writeString(DEFAULTS, Files.readString(DEFAULTS) + "INFOBLOX_CNI_JAVA=\"" + noJava + "\"\n");
            Run broken = run(Map.of("CNI_COMMAND", "VERSION"), VERSION_STDIN, PLUGIN.toString());
            assertNotEquals(0, broken.exit(), broken.toString());
            assertTrue(broken.err().contains(noJava), broken.toString());
            Run brokenDaemon = run(
                    Map.of("INFOBLOX_CNI_TMPDIR", dir.resolve("tmp").toString()),
                    null,
                    PREFIX.resolve("bin/infoblox-cni-daemon").toString(),
                    "--help");
            assertTrue(brokenDaemon.exit() != 0 && brokenDaemon.err().contains(noJava), brokenDaemon.toString());
            Run withoutJava = dpkg("-i", newer.toString());
            assertTrue(withoutJava.ok(), "a missing Java 25 never fails the install: " + withoutJava);
            assertTrue(
                    withoutJava.err().contains("WARNING: the plugin cannot run")
                            && withoutJava.err().contains("INFOBLOX_CNI_JAVA"),
                    withoutJava.toString());
            assertFalse(Files.exists(AOT), "no archive without a java");
            assertFalse(Files.exists(DAEMON_AOT), "no daemon archive without a java");

            // remove: the configuration stays, nothing else
            Run remove = dpkg("--remove", PACKAGE);
            assertTrue(remove.ok(), remove.toString());
            assertEquals("deinstall ok config-files " + version + "+test2", status());
            for (String conffile : CONFFILES)
                assertTrue(Files.exists(Path.of(conffile)), conffile + " stays on remove");
            assertTrue(Files.readString(DEFAULTS).contains(noJava), "with the operator's edits");
            assertTrue(
                    Files.exists(PASSWORD) && Files.exists(STATE.resolve("journal/log-0000000001")),
                    "the password and the journal stay on remove");
            for (Path gone : List.of(
                    PREFIX,
                    PLUGIN,
                    Path.of("/lib/systemd/system/infoblox-cni-daemon.socket"),
                    Path.of("/lib/systemd/system/infoblox-cni-daemon.service"))) {
                assertFalse(Files.exists(gone, LinkOption.NOFOLLOW_LINKS), gone + " is gone on remove");
            }

            // purge: nothing stays
            Run purge = dpkg("--purge", PACKAGE);
            assertTrue(purge.ok(), purge.toString());
            // the package owns no directory it shares with others (/opt, /opt/cni/bin), so dpkg
            // has none to find not empty (packaging/deb-shared-dirs)
            for (Run r : List.of(remove, purge)) {
                assertFalse((r.out() + r.err()).contains("not empty so not removed"), r.toString());
            }
            assertFalse(
                    known(), "dpkg knows nothing of the package: " + run(Map.of(), null, "dpkg-query", "-W", PACKAGE));
            assertFalse(run(Map.of(), null, "dpkg", "-L", PACKAGE).ok());
            for (Path path : OURS)
                assertFalse(Files.exists(path, LinkOption.NOFOLLOW_LINKS), path + " is gone on purge");
            assertEquals(
                    before,
                    hostState(),
                    "the host's /opt, systemd configuration and deb-systemd-helper state are as before");
        } finally {
            cleanUp();
        }
    }

    // ---- steps ----

    static void assertPluginAnswersVersion(Path plugin, Map<String, String> env) throws Exception {
        Map<String, String> e = new TreeMap<>(env);
        e.put("CNI_COMMAND", "VERSION");
        Run version = run(e, VERSION_STDIN, plugin.toString());
        assertEquals(0, version.exit(), version.toString());
        assertTrue(version.out().startsWith("{\"cniVersion\":\"1.0.0\",\"supportedVersions\":["), version.toString());
    }

    /** @param dir for the daemon launcher's private temp dir, which otherwise stays behind in /tmp */
    static void assertHelps(Path prefix, Map<String, String> env, Path dir) throws Exception {
        Map<String, String> e = new TreeMap<>(env);
        e.put("INFOBLOX_CNI_TMPDIR", dir.resolve("tmp").toString());
        Run daemon = run(e, null, prefix.resolve("bin/infoblox-cni-daemon").toString(), "--help");
        assertEquals(0, daemon.exit(), daemon.toString());
        assertTrue(
                daemon.out().startsWith("Usage: infoblox-cni-daemon")
                        && daemon.out().contains("--grid-host"),
                daemon.toString());
        Run recover = run(env, null, prefix.resolve("bin/infoblox-cni-recover").toString(), "--help");
        assertEquals(0, recover.exit(), recover.toString());
        assertTrue(recover.out().startsWith("Usage: infoblox-cni-recover"), recover.toString());
        // both say the version the build wrote into their jars (recovery's was written by hand, and went stale)
        Run daemonVersion =
                run(e, null, prefix.resolve("bin/infoblox-cni-daemon").toString(), "--version");
        Run recoverVersion =
                run(env, null, prefix.resolve("bin/infoblox-cni-recover").toString(), "--version");
        String version = daemonVersion.out().strip().replaceFirst("^infoblox-cni-daemon ", "");
        assertTrue(version.matches("\\d+\\.\\d+\\.\\d+\\S*"), daemonVersion.toString());
        assertEquals("infoblox-cni-recover " + version, recoverVersion.out().strip(), recoverVersion.toString());
        Run pluginVersion = run(env, null, prefix.resolve("bin/infoblox").toString(), "--version");
        assertEquals(0, pluginVersion.exit(), pluginVersion.toString());
        assertTrue(pluginVersion.out().startsWith("infoblox-cni plugin " + version + " "), pluginVersion.toString());
    }

    /**
     * The programs from PATH (/usr/sbin links), their man pages (gzip, rendered by man with their
     * name and an option), their bash completion, the copyright and changelog, one daemon jar.
     */
    static void assertOnPathWithManPagesAndCompletion(Path dir) throws Exception {
        Map<String, String> e = Map.of("INFOBLOX_CNI_TMPDIR", dir.resolve("tmp").toString());
        for (String program : List.of("infoblox-cni-daemon", "infoblox-cni-recover")) {
            Path link = Path.of("/usr/sbin", program);
            assertEquals(PREFIX.resolve("bin/" + program), Files.readSymbolicLink(link), link.toString());
            // by name, from PATH: the launcher finds its jar through the link
            Run version = run(e, null, program, "--version");
            assertEquals(0, version.exit(), version.toString());
            assertTrue(version.out().startsWith(program + " "), version.toString());
        }
        assertTrue(onPath("man"), "man not found: the man pages are checked with man -l (apt-get install man-db)");
        for (Map.Entry<String, String> page : MAN_PAGES.entrySet()) {
            Path file = Path.of("/usr/share/man/man8", page.getKey() + ".8.gz");
            assertEquals("rw-r--r--", mode(file), file.toString());
            byte[] head = new byte[2];
            try (var in = Files.newInputStream(file)) {
                assertEquals(2, in.read(head), file.toString());
            }
            assertTrue(head[0] == (byte) 0x1f && head[1] == (byte) 0x8b, file + " is gzip");
            Run man = run(Map.of("MANWIDTH", "200"), null, "man", "-l", file.toString());
            assertEquals(0, man.exit(), man.toString());
            assertTrue(man.err().isBlank(), "man renders it without complaint: " + man);
            assertTrue(
                    man.out().contains("NAME") && man.out().contains(page.getKey() + " - "),
                    file + " names " + page.getKey() + ": " + man);
            assertTrue(man.out().contains(page.getValue()), file + " shows " + page.getValue() + ": " + man);
        }
        for (String program : COMPLETIONS) {
            Path script = Path.of("/usr/share/bash-completion/completions", program);
            assertEquals("rw-r--r--", mode(script), script.toString());
            Run complete = run(Map.of(), null, "bash", "-c", ". \"$0\" && complete -p " + program, script.toString());
            assertEquals(0, complete.exit(), complete.toString());
            assertTrue(complete.out().contains("_complete_" + program), complete.toString());
        }
        for (String doc : List.of("copyright", "changelog.Debian.gz")) {
            assertEquals("rw-r--r--", mode(DOC.resolve(doc)), DOC.resolve(doc).toString());
        }
        assertTrue(Files.readString(DOC.resolve("copyright")).startsWith("Format: "), "a DEP-5 copyright file");
        try (Stream<Path> jars = Files.walk(PREFIX)) {
            List<Path> daemonJars = jars.filter(p -> p.getFileName().toString().matches("daemon.*\\.jar"))
                    .toList();
            assertEquals(List.of(LIB.resolve("daemon.jar")), daemonJars, "one daemon jar is installed");
        }
    }

    /** The archive postinst made is newer than the jar (or the launcher ignores it) and the JVM accepts it. */
    static void assertArchiveMadeForTheInstalledJar() throws Exception {
        assertTrue(Files.exists(AOT), "postinst made " + AOT);
        assertTrue(
                Files.getLastModifiedTime(AOT).compareTo(Files.getLastModifiedTime(LIB.resolve("plugin.jar"))) > 0,
                "archive newer than the jar");
        // AOTMode=on: the JVM refuses to start unless it can use the archive the launcher names
        assertPluginAnswersVersion(PLUGIN, Map.of("INFOBLOX_CNI_JAVA_OPTS", "-XX:AOTMode=on"));
        assertTrue(Files.exists(DAEMON_AOT), "postinst made " + DAEMON_AOT);
        assertTrue(
                Files.getLastModifiedTime(DAEMON_AOT).compareTo(Files.getLastModifiedTime(LIB.resolve("daemon.jar")))
                        > 0,
                "daemon archive newer than the jar");
        Path tmp = Files.createTempDirectory("infoblox-cni-pkg-daemon");
        try {
            Run help = run(
                    Map.of(
                            "INFOBLOX_CNI_DAEMON_JAVA_OPTS",
                            "-XX:AOTMode=on",
                            "INFOBLOX_CNI_TMPDIR",
                            tmp.resolve("t").toString()),
                    null,
                    PREFIX.resolve("bin/infoblox-cni-daemon").toString(),
                    "--help");
            assertEquals(0, help.exit(), "the daemon's JVM takes the archive postinst made: " + help);
        } finally {
            Files.deleteIfExists(tmp.resolve("t"));
            Files.deleteIfExists(tmp);
        }
    }

    /** The installed units, at their installed paths, with the launchers they name. */
    static void assertUnitsVerify() throws Exception {
        if (!onPath("systemd-analyze")) return; // SystemdIntegrationTest says it skipped
        Run verify = run(
                Map.of(),
                null,
                "systemd-analyze",
                "verify",
                "/lib/systemd/system/infoblox-cni-daemon.socket",
                "/lib/systemd/system/infoblox-cni-daemon.service");
        assertEquals(0, verify.exit(), verify.toString());
        assertFalse((verify.out() + verify.err()).contains("infoblox-cni"), "no complaint about our units: " + verify);
    }

    /**
     * The same package with another version: only control's Version is changed, the data archive
     * is the one the build made. (dpkg-deb --build from an unpacked tree would add entries for
     * /opt, /opt/cni and /opt/cni/bin again, which the build takes out: packaging/deb-shared-dirs.)
     */
    static Path newerVersion(Path deb, String version, Path dir) throws Exception {
        Path work = Files.createDirectories(dir.resolve("newer/control")).getParent();
        Path newer = dir.resolve(PACKAGE + "_" + version + "_all.deb");
        Run build = run(
                Map.of(),
                null,
                "sh",
                "-c",
                """
                set -eu
                cd "$1"
                ar x "$2"
                tar -xzf control.tar.gz -C control
                sed -i "s/^Version: .*/Version: $3/" control/control
                (cd control && tar --create --gzip --owner=root:0 --group=root:0 --file=../control.tar.gz .)
                ar rcD "$4" debian-binary control.tar.gz data.tar.gz
                """,
                "newer-version",
                work.toString(),
                deb.toString(),
                version,
                newer.toString());
        assertTrue(build.ok(), build.toString());
        Run field = run(Map.of(), null, "dpkg-deb", "--field", newer.toString(), "Version");
        assertEquals(version, field.out().strip(), field.toString());
        return newer;
    }

    /** The one dependency the .deb declares that a Debian host may lack (CI's .ci/run installs it too). */
    static void needIproute2() throws Exception {
        if (run(Map.of(), null, "dpkg-query", "-W", "-f", "${Status}", "iproute2")
                .out()
                .equals("install ok installed")) return;
        Run apt = run(
                Map.of("DEBIAN_FRONTEND", "noninteractive"),
                null,
                "apt-get",
                "install",
                "-y",
                "-qq",
                "--no-install-recommends",
                "iproute2");
        assertTrue(apt.ok(), "the .deb depends on iproute2, which apt-get could not install: " + apt);
    }

    /** Whatever a failed step left: the package purged, and what the test made itself removed. */
    static void cleanUp() throws Exception {
        if (known()) {
            Run purge = dpkg("--purge", PACKAGE);
            if (!purge.ok()) System.err.println("PackageIT: purge at the end failed: " + purge);
        }
        // the operator's files this test wrote (none existed before it: see the assumption)
        for (Path path : OURS) deleteTree(path);
    }

    // ---- this host ----

    static Run dpkg(String... args) throws Exception {
        List<String> argv = new ArrayList<>(List.of("dpkg"));
        argv.addAll(List.of(args));
        return run(Map.of("DEBIAN_FRONTEND", "noninteractive"), null, argv.toArray(String[]::new));
    }

    /** "install ok installed 0.1.0~SNAPSHOT": the status and the version dpkg records. */
    static String status() throws Exception {
        return run(Map.of(), null, "dpkg-query", "-W", "-f", "${Status} ${Version}", PACKAGE)
                .out();
    }

    /** True while dpkg has any record of the package (installed, or its conffiles). */
    static boolean known() throws Exception {
        Run query = run(Map.of(), null, "dpkg-query", "-W", "-f", "${Status}", PACKAGE);
        return query.ok() && !query.out().endsWith("not-installed");
    }

    /**
     * What an install could change outside its own paths: /opt's top level and /opt/cni,
     * the systemd configuration in /etc/systemd/system, deb-systemd-helper's records, /etc/default.
     */
    static Map<String, String> hostState() throws IOException {
        Map<String, String> state = new TreeMap<>();
        list(Path.of("/opt"), 1, state);
        list(Path.of("/opt/cni"), Integer.MAX_VALUE, state);
        list(Path.of("/etc/systemd/system"), Integer.MAX_VALUE, state);
        list(Path.of("/var/lib/systemd/deb-systemd-helper-enabled"), Integer.MAX_VALUE, state);
        list(Path.of("/var/lib/systemd/deb-systemd-helper-masked"), Integer.MAX_VALUE, state);
        list(Path.of("/etc/default"), 1, state);
        list(Path.of("/lib/systemd/system"), 1, state);
        return state;
    }

    static void list(Path root, int depth, Map<String, String> state) throws IOException {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) return;
        try (Stream<Path> paths = Files.walk(root, depth)) {
            for (Path p : paths.toList()) {
                String kind = Files.isSymbolicLink(p)
                        ? "link to " + Files.readSymbolicLink(p)
                        : Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS) ? "dir " + mode(p) : "file " + mode(p);
                state.put(p.toString(), kind);
            }
        }
    }

    static String mode(Path p) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
    }

    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) return;
        if (Files.isSymbolicLink(root) || !Files.isDirectory(root)) {
            Files.delete(root);
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }

    static Path deb() throws IOException {
        List<Path> debs = new ArrayList<>();
        try (DirectoryStream<Path> found = Files.newDirectoryStream(TARGET, PACKAGE + "_*_all.deb")) {
            found.forEach(debs::add);
        }
        assertEquals(1, debs.size(), "one .deb in " + TARGET + " (build-tree removes older ones): " + debs);
        return debs.get(0);
    }

    static boolean onPath(String command) {
        return Stream.of(PATH.split(":")).anyMatch(d -> Files.isExecutable(Path.of(d, command)));
    }

    // ---- running commands ----

    /** A root shell's PATH, as dpkg wants it (ldconfig and start-stop-daemon are in sbin). */
    static final String PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /** Entries of `tar -tv` or `dpkg-deb --contents`, by name without ./ or a trailing slash. */
    record Entry(String mode, String owner, String link) {}

    static final Pattern LISTING = Pattern.compile("(\\S{10}) (\\S+)\\s+\\d+ \\S+ \\S+ (.+?)(?: -> (.+))?");

    static Map<String, Entry> entries(Run listing) {
        assertTrue(listing.ok(), listing.toString());
        Map<String, Entry> entries = new TreeMap<>();
        for (String line : listing.out().lines().toList()) {
            Matcher m = LISTING.matcher(line);
            assertTrue(m.matches(), line);
            String name = m.group(3).replaceFirst("^\\./", "").replaceFirst("/$", "");
            if (!name.isEmpty()) entries.put(name, new Entry(m.group(1), m.group(2), m.group(4)));
        }
        return entries;
    }

    record Run(List<String> argv, int exit, String out, String err) {
        boolean ok() {
            return exit == 0;
        }

        @Override
        public String toString() {
            return String.join(" ", argv) + " -> " + (exit == -1 ? "TIMED OUT" : "exit " + exit) + "\n--- stdout:\n"
                    + out.strip() + "\n--- stderr:\n" + err.strip();
        }
    }

    /**
     * Runs a command with only PATH and {@code env} in its environment (as a CNI runtime or dpkg
     * run from a clean root shell would), stdin from {@code stdin} or /dev/null, at most {@link #TIMEOUT}.
     */
    static Run run(Map<String, String> env, String stdin, String... argv) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(argv);
        pb.environment().clear();
        pb.environment().put("PATH", PATH);
        pb.environment().put("LANG", "C.UTF-8");
        pb.environment().putAll(env);
        File out = File.createTempFile("packaging-it", ".out");
        File err = File.createTempFile("packaging-it", ".err");
        try {
            pb.redirectOutput(out).redirectError(err);
            pb.redirectInput(
                    stdin == null ? ProcessBuilder.Redirect.from(new File("/dev/null")) : ProcessBuilder.Redirect.PIPE);
            Process p = pb.start();
            if (stdin != null) {
                try (OutputStream in = p.getOutputStream()) {
                    in.write(stdin.getBytes(UTF_8));
                } catch (IOException ignored) {
                    // it exited without reading all of it: its exit code tells
                }
            }
            int exit;
            if (p.waitFor(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                exit = p.exitValue();
            } else {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor();
                exit = -1;
            }
            return new Run(List.of(argv), exit, Files.readString(out.toPath()), Files.readString(err.toPath()));
        } finally {
            if (!out.delete() || !err.delete())
                throw new UncheckedIOException(new IOException("cannot delete " + out + ", " + err));
        }
    }
}
