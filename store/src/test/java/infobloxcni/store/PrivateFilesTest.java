package infobloxcni.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link PrivateFiles}: exact modes on what it creates, hands off what it did not create. */
class PrivateFilesTest {
    @TempDir
    Path tmp;

    static String mode(Path p) throws Exception {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
    }

    @Test
    void createdDirectoriesAre0700AndAnExistingOneKeepsItsMode() throws Exception {
        Path mine = Files.createDirectory(tmp.resolve("existing"));
        Files.setPosixFilePermissions(mine, PosixFilePermissions.fromString("rwxr-x--x"));
        PrivateFiles.createDirectories(mine.resolve("a/b/c"));
        assertEquals("rwxr-x--x", mode(mine), "not created here: left as its owner set it");
        for (String d : new String[] {"a", "a/b", "a/b/c"}) {
            assertEquals("rwx------", mode(mine.resolve(d)), d);
        }
        PrivateFiles.createDirectories(mine.resolve("a/b/c")); // exists: nothing to do
        Files.writeString(mine.resolve("f"), "x");
        assertThrows(JournalException.class, () -> PrivateFiles.createDirectories(mine.resolve("f")));
    }

    @Test
    void aCreatedFileIs0600AndNeverReplacesOne() throws Exception {
        Path f = tmp.resolve("f");
        try (FileChannel ch = PrivateFiles.createFile(f)) {
            assertEquals("rw-------", mode(f));
            assertEquals(0, ch.size());
        }
        assertThrows(FileAlreadyExistsException.class, () -> PrivateFiles.createFile(f));
        Path d = tmp.resolve("d");
        PrivateFiles.createDirectory(d);
        assertEquals("rwx------", mode(d));
        assertThrows(FileAlreadyExistsException.class, () -> PrivateFiles.createDirectory(d));
    }
}
