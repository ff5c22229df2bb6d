package infobloxcni.daemon.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import infobloxcni.daemon.DaemonMain;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine.Model.OptionSpec;

/** The settings file alone: what it may hold, what wins, what an operator is told, and --print-config. */
class ConfigFileTest {
    @TempDir
    Path dir;

    record Run(int exit, String out, String err) {}

    private static Run daemon(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = DaemonMain.run(
                args,
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private Path file(String text) throws Exception {
        Path f = Files.writeString(dir.resolve("daemon.conf"), text);
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-------"));
        return f;
    }

    private static String lineOf(String printed, String name) {
        return printed.lines()
                .filter(l -> l.startsWith(name + " "))
                .findFirst()
                .orElseThrow(() -> new AssertionError(name + " not in\n" + printed));
    }

    @Test
    void aFlagBeatsTheFileWhichBeatsTheDefaultAndPrintConfigSaysWhereEachCameFrom() throws Exception {
        Path f = file("""
                # the grid
                grid-host = grid.example.com
                wapi-port=8443
                pool-size = 3
                wapi-password = s3cret
                """);
        Run run = daemon("--config", f.toString(), "--pool-size", "5", "--state-dir", dir.toString(), "--print-config");
        assertEquals(0, run.exit(), run.toString());
        assertTrue(lineOf(run.out(), "grid-host").matches("grid-host += grid.example.com +# " + f), run.out());
        assertTrue(lineOf(run.out(), "wapi-port").matches("wapi-port += 8443 +# " + f), run.out());
        assertTrue(lineOf(run.out(), "pool-size").matches("pool-size += 5 +# command line"), run.out());
        assertTrue(lineOf(run.out(), "wapi-version").matches("wapi-version += 2.5 +# default"), run.out());
        assertTrue(lineOf(run.out(), "wapi-password").matches("wapi-password += \\*+ +# " + f), run.out());
        assertFalse(run.out().contains("s3cret"), "the password is never printed");
        assertTrue(
                run.out().startsWith("# effective settings of infoblox-cni-daemon (settings file " + f + ")"),
                run.out());
    }

    /** It used to die with a stack trace ("Bad level \"DEBUG\""): debug is a level, and a bad one is one line. */
    @Test
    void logLevelTakesTheNamesOperatorsUseAndRefusesOthersInOneLine() throws Exception {
        Path f = file("grid-host = grid.example.com\nlog-level = debug\n");
        Run debug = daemon("--config", f.toString(), "--state-dir", dir.toString(), "--print-config");
        assertEquals(0, debug.exit(), debug.toString());
        assertTrue(lineOf(debug.out(), "log-level").matches("log-level += debug +# " + f), debug.out());

        Run bad = daemon("--grid-host", "g", "--state-dir", dir.toString(), "--log-level", "verbose", "--print-config");
        assertEquals(2, bad.exit(), bad.toString());
        assertEquals(1, bad.err().strip().lines().count(), bad.err());
        assertTrue(bad.err().contains("--log-level must be error, warn, info, debug or trace"), bad.err());
        assertFalse(bad.err().contains("Exception"), bad.err());
        infobloxcni.daemon.observe.LogLevels.configure(java.util.logging.Level.INFO);
    }

    @Test
    void anUnknownNameStopsTheStartNamingTheNameAndTheFile() throws Exception {
        Path f = file("grid-hots = grid.example.com\n");
        Run run = daemon("--config", f.toString(), "--print-config");
        assertEquals(2, run.exit());
        assertTrue(run.err().contains("unknown setting 'grid-hots' in " + f), run.err());
    }

    @Test
    void aFlagThatOnlyMeansSomethingOnTheCommandLineIsNoSetting() throws Exception {
        Path f = file("print-config = true\n");
        Run run = daemon("--config", f.toString(), "--print-config");
        assertEquals(2, run.exit());
        assertTrue(run.err().contains("unknown setting 'print-config'"), run.err());
    }

    @Test
    void aValueTheParserRefusesNamesTheSettingAndTheFile() throws Exception {
        Path f = file("wapi-port = eighty\n");
        Run run = daemon("--config", f.toString(), "--print-config");
        assertEquals(2, run.exit());
        assertTrue(run.err().contains("'eighty' is not an int (set by 'wapi-port = eighty' in " + f + ")"), run.err());
    }

    @Test
    void aValueTheConfigurationRefusesNamesTheSettingAndTheFile() throws Exception {
        Path f = file("prefix-length = 40\n");
        Run run = daemon("--config", f.toString(), "--state-dir", dir.toString(), "--print-config");
        assertEquals(2, run.exit());
        assertTrue(
                run.err().contains("--prefix-length must be 8..30, got 40 (set by 'prefix-length = 40' in " + f + ")"),
                run.err());
    }

    @Test
    void aNamedFileThatIsNotThereIsAnError() {
        Run run = daemon("--config", dir.resolve("absent.conf").toString(), "--print-config");
        assertEquals(2, run.exit());
        assertTrue(run.err().contains("--config " + dir.resolve("absent.conf") + ": no such file"), run.err());
    }

    @Test
    void aPasswordInTheFileIsNotOnACommandLineButAReadableFileIsSaid() throws Exception {
        Path f = file("grid-host = grid.example\nwapi-username = u\nwapi-password = s3cret\nwapi-scheme = https\n");
        DaemonMain main = new DaemonMain();
        var line = ConfigFile.commandLine(
                "t", main, main.host, DaemonMain.settings(), new String[] {"--config", f.toString()}, System.err);
        line.parseArgs("--config", f.toString(), "--state-dir", dir.toString());
        DaemonConfig config = main.host.toConfig(null);
        assertFalse(main.host.passwordOnCommandLine());
        assertTrue(
                main.host.warnings(config).isEmpty(), main.host.warnings(config).toString());
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r--r--"));
        assertTrue(
                main.host.warnings(config).stream()
                        .anyMatch(w -> w.contains("the WAPI password's file " + f + " may be read by others")),
                main.host.warnings(config).toString());
    }

    @Test
    void everyFlagsHelpLineSaysWhatItDoes() {
        List<String> silent = new ArrayList<>();
        for (OptionSpec o : DaemonMain.settings().options()) {
            String text = String.join(" ", o.description())
                    .replaceAll("\\(default: \\$\\{DEFAULT-VALUE}\\)", "")
                    .trim();
            if (text.length() < 10) silent.add(o.longestName());
        }
        assertEquals(List.of(), silent, "flags whose --help line says nothing");
    }

    /**
     * The grid's host, user and password are required, each refusal naming the setting: with
     * nothing configured the original's default host (a private address on someone's network)
     * was dialled, an empty user or no password at all reached the grid as a 401, and a missing
     * password file said only its path.
     */
    @Test
    void theGridsHostUserAndPasswordAreRequiredAndEachRefusalNamesItsSetting() throws Exception {
        java.util.function.Function<String[], IllegalArgumentException> refused =
                args -> org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> {
                    SharedFlags flags = new SharedFlags();
                    new picocli.CommandLine(flags).parseArgs(args);
                    flags.toConfig(null, dir.resolve("no-default-password"), true);
                });
        assertTrue(refused.apply(new String[] {"--wapi-username", "u"})
                .getMessage()
                .startsWith("--grid-host is not set"));
        assertTrue(
                refused.apply(new String[] {"--grid-host", "g"}).getMessage().startsWith("--wapi-username is not set"));
        assertTrue(refused.apply(new String[] {"--grid-host", "g", "--wapi-username", "u"})
                .getMessage()
                .startsWith("no WAPI password: put it in " + dir.resolve("no-default-password")));
        Path missing = dir.resolve("wapi-password");
        String gone = refused.apply(new String[] {
                    "--grid-host", "g", "--wapi-username", "u", "--wapi-password-file", missing.toString()
                })
                .getMessage();
        assertTrue(
                gone.equals("--wapi-password-file " + missing + ": no such file (create it, one line, mode 0600:"
                        + " sudo install -m 600 /dev/stdin " + missing + ")"),
                gone);
        Files.writeString(missing, "");
        assertTrue(refused.apply(new String[] {
                    "--grid-host", "g", "--wapi-username", "u", "--wapi-password-file", missing.toString()
                })
                .getMessage()
                .contains("the file is empty"));
    }

    /** The daemon and recover read the package's password file when nothing else gives one. */
    @Test
    void theDefaultPasswordFileIsReadWhenNothingElseGivesOne() throws Exception {
        Path pw = file("from-the-file\n");
        SharedFlags flags = new SharedFlags();
        new picocli.CommandLine(flags).parseArgs("--grid-host", "g", "--wapi-username", "u", "--host-id", "h1");
        assertEquals("from-the-file", flags.toConfig(null, pw, true).wapi().password());
        assertEquals("from-env", flags.toConfig("from-env", pw, true).wapi().password(), "the environment first");
    }
}
