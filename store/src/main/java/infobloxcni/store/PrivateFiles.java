package infobloxcni.store;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.Set;

/**
 * Creates every directory (0700) and file (0600) of the store, with exactly that mode whatever
 * the process umask. The journal holds which container has which address; the daemon may run
 * with umask 000. The mode is passed at creation, so the file is never wider, not even for a
 * moment, and set again right after, because creation applies the umask (0277 would leave a
 * directory its owner cannot write into). Only what this class creates is changed: a directory
 * that exists keeps the mode its owner gave it. On a file system without POSIX permissions the
 * file system's defaults apply.
 */
final class PrivateFiles {
    private PrivateFiles() {}

    static final Set<PosixFilePermission> DIRECTORY_MODE = Set.copyOf(PosixFilePermissions.fromString("rwx------"));
    static final Set<PosixFilePermission> FILE_MODE = Set.copyOf(PosixFilePermissions.fromString("rw-------"));

    /**
     * Creates {@code dir} and its missing parents, each 0700, each made durable by an fsync of its
     * parent. Does nothing when {@code dir} is a directory already.
     *
     * @throws JournalException when {@code dir} or a parent exists and is not a directory
     */
    static void createDirectories(Path dir) throws IOException {
        if (Files.isDirectory(dir)) {
            return;
        }
        if (Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            throw new JournalException(dir + " exists and is not a directory");
        }
        Path parent = dir.getParent();
        if (parent != null) {
            createDirectories(parent);
        }
        try {
            createDirectory(dir);
        } catch (FileAlreadyExistsException e) {
            if (!Files.isDirectory(dir)) {
                throw e;
            }
            return; // created by someone else meanwhile: theirs, mode included
        }
        if (parent != null) {
            JournalFiles.fsyncDirectory(parent);
        }
    }

    /**
     * Creates {@code dir}, mode 0700.
     *
     * @throws FileAlreadyExistsException when something has that name
     */
    static void createDirectory(Path dir) throws IOException {
        if (!posix(dir)) {
            Files.createDirectory(dir);
            return;
        }
        Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(DIRECTORY_MODE));
        Files.setPosixFilePermissions(dir, DIRECTORY_MODE);
    }

    /**
     * Creates {@code file}, mode 0600, and returns it open for writing.
     *
     * @throws FileAlreadyExistsException when something has that name
     */
    static FileChannel createFile(Path file) throws IOException {
        Set<StandardOpenOption> options = EnumSet.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        if (!posix(file)) {
            return FileChannel.open(file, options);
        }
        FileChannel ch = FileChannel.open(file, options, PosixFilePermissions.asFileAttribute(FILE_MODE));
        try {
            Files.setPosixFilePermissions(file, FILE_MODE);
            return ch;
        } catch (IOException | RuntimeException e) {
            JournalFiles.closeQuietly(ch);
            try {
                Files.deleteIfExists(file); // ours, just created: do not leave it with the wrong mode
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    private static boolean posix(Path p) {
        return p.getFileSystem().supportedFileAttributeViews().contains("posix");
    }
}
