package infobloxcni.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every directory the store creates is 0700 and every file 0600, whatever the umask. The JVM
 * cannot change its own umask, so the umask cases run the same steps in a child JVM started
 * under {@code umask 000} (creation alone would give 0777/0666) and {@code umask 0277} (creation
 * alone would give 0500/0400: the journal directory would not even be writable).
 */
class JournalFileModesTest {
    @TempDir
    Path tmp;

    /** Creates every kind of file and directory the store makes, under {@code root}. */
    static void createEverything(Path root) throws Exception {
        Path dir = root.resolve("state/infoblox-cni/journal"); // missing parents too
        Journal j = Journal.open(dir, new JournalOptions(1));
        for (int i = 0; i < 5; i++) {
            j.put(TestData.allocated(i, i)); // each crosses the threshold: logs and snapshots
        }
        j.close();
        if (j.stats().compactions() < 1) {
            throw new AssertionError("no snapshot written: " + j.stats());
        }
        Journal.quarantine(dir);
        try (Journal fresh = Journal.open(dir)) { // a new log-1 beside the quarantine directory
            fresh.put(TestData.allocated(9, 9));
        }
    }

    @Test
    void inThisProcess() throws Exception {
        createEverything(tmp);
        assertModes(tmp);
    }

    @Test
    void underUmask000() throws Exception {
        runChild("000");
    }

    @Test
    void underUmask0277() throws Exception {
        runChild("0277");
    }

    private void runChild(String umask) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String cp = location(Journal.class) + File.pathSeparator + location(JournalModesChild.class);
        Path out = tmp.resolve("child-out.txt");
        Path root = Files.createDirectory(tmp.resolve("root"));
        Process p = new ProcessBuilder(
                        "/bin/sh",
                        "-c",
                        "umask " + umask + " && exec \"$@\"",
                        "sh",
                        java,
                        "-Xshare:auto",
                        "-XX:TieredStopAtLevel=1",
                        "-XX:+UseSerialGC",
                        "-cp",
                        cp,
                        JournalModesChild.class.getName(),
                        root.toString())
                .redirectErrorStream(true)
                .redirectOutput(out.toFile())
                .start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "child hung");
        String said = Files.readString(out, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), "child under umask " + umask + ": " + said);
        assertTrue(said.contains("ok"), said);
        assertModes(root);
    }

    /** Everything below root (root itself is the test's) is a 0700 directory or a 0600 file. */
    private static void assertModes(Path root) throws Exception {
        List<String> wrong = new ArrayList<>();
        List<String> seen = new ArrayList<>();
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                if (p.equals(root) || p.getFileName().toString().equals("child-out.txt")) {
                    continue;
                }
                String name = root.relativize(p).toString();
                String want = Files.isDirectory(p) ? "rwx------" : "rw-------";
                String got = PrivateFilesTest.mode(p);
                seen.add(name.replaceAll("corrupt-[^/]*", "corrupt-*") + " " + got);
                if (!got.equals(want)) {
                    wrong.add(name + " is " + got + ", not " + want);
                }
            }
        }
        assertTrue(wrong.isEmpty(), String.join("\n", wrong));
        String all = String.join("\n", seen);
        for (String kind : new String[] {
            "state ",
            "state/infoblox-cni ",
            "journal ",
            "journal/LOCK ",
            "journal/log-",
            "journal/corrupt-* ",
            "corrupt-*/log-",
            "corrupt-*/snapshot-"
        }) {
            assertTrue(all.contains(kind), "nothing like '" + kind + "' in:\n" + all);
        }
    }

    private static String location(Class<?> c) throws Exception {
        return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI())
                .toString();
    }
}
