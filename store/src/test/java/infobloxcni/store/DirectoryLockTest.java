package infobloxcni.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One holder of a journal directory at a time, whoever it is: open, quarantine, another process. */
class DirectoryLockTest {
    @TempDir
    Path tmp;

    @Test
    void createsTheDirectoryAndItsLockFile() throws Exception {
        Path dir = tmp.resolve("a/b/j");
        try (DirectoryLock lock = DirectoryLock.acquire(dir)) {
            assertEquals(dir, lock.directory());
            assertTrue(Files.isDirectory(dir));
            assertEquals(java.util.List.of(JournalFiles.LOCK), TestData.names(dir));
        }
    }

    @Test
    void takenOnceInThisJvmBySomeoneElseAgainAfterClose() throws Exception {
        Path dir = tmp.resolve("j");
        DirectoryLock lock = DirectoryLock.acquire(dir);
        JournalException e = assertThrows(JournalException.class, () -> DirectoryLock.acquire(dir));
        assertTrue(e.getMessage().contains("already open in this JVM"), e.getMessage());
        // open and quarantine go through the same lock
        assertThrows(JournalException.class, () -> Journal.open(dir));
        assertThrows(JournalException.class, () -> Journal.quarantine(dir));
        lock.close();
        lock.close(); // idempotent
        try (Journal j = Journal.open(dir)) {
            assertThrows(JournalException.class, () -> DirectoryLock.acquire(dir));
            j.put(TestData.allocated(1, 1));
        }
        DirectoryLock.acquire(dir).close();
    }

    @Test
    void anotherProcessHoldsItUntilItDies() throws Exception {
        Path dir = tmp.resolve("j");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String cp = location(DirectoryLock.class) + File.pathSeparator + location(DirectoryLockHolder.class);
        Process p = new ProcessBuilder(
                        java,
                        "-Xshare:auto",
                        "-XX:TieredStopAtLevel=1",
                        "-cp",
                        cp,
                        DirectoryLockHolder.class.getName(),
                        dir.toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        try {
            BufferedReader out =
                    new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.US_ASCII));
            String line = out.readLine();
            assertTrue(line != null && line.startsWith("locked"), "child said " + line);
            JournalException e = assertThrows(JournalException.class, () -> DirectoryLock.acquire(dir));
            assertTrue(e.getMessage().contains("locked by another process"), e.getMessage());
            assertThrows(JournalException.class, () -> Journal.open(dir));
        } finally {
            p.destroyForcibly(); // SIGKILL: the kernel releases the lock
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        }
        DirectoryLock.acquire(dir).close();
    }

    private static String location(Class<?> c) throws Exception {
        return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI())
                .toString();
    }
}
