package infobloxcni.daemon.server;

import infobloxcni.daemon.cni.TrustedPath;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * The directories the daemon keeps its state and its socket in. Modes never depend on the umask
 * it was started with: a directory it creates gets exactly the mode asked for, and one that is
 * already there must belong to root (or to the daemon's own uid) and be writable by no one else,
 * since whoever may write it can replace what is inside (plant a journal, put their own socket in
 * place of the daemon's). So must the way to it ({@link TrustedPath}): every directory above it
 * and every symbolic link on the way belongs to root (or the daemon's uid), and none is writable
 * by others unless sticky, since whoever may rename a directory on the way can put one of their
 * own in its place. Such a directory is refused, never silently used or "fixed".
 */
public final class PrivateDirs {
    /** The state directory: the journal and nothing else; the daemon's alone. */
    public static final Set<PosixFilePermission> PRIVATE = PosixFilePermissions.fromString("rwx------");
    /** The socket directory: anyone may look for the socket, whose own mode says who may connect. */
    static final Set<PosixFilePermission> SHARED_READ = PosixFilePermissions.fromString("rwxr-xr-x");

    private static final Set<PosixFilePermission> DIR_IN_BETWEEN = SHARED_READ;
    /** More than any path has names: each round creates one missing directory or ends. */
    private static final int MAX_ROUNDS = 4096;

    private PrivateDirs() {}

    /**
     * Makes sure {@code dir} is a directory only the daemon may change, reached only through
     * directories and links only root (or the daemon) may change: creates it (and missing parents,
     * 0755) with {@code mode}, or checks the one that is there.
     *
     * @param flag the option that named the directory, for the error message
     */
    public static void ensure(Path dir, Set<PosixFilePermission> mode, String flag) throws IOException {
        Path absolute = dir.toAbsolutePath(); // not normalized: ".." after a link is resolved as the kernel does
        for (int round = 0; round < MAX_ROUNDS; round++) {
            switch (TrustedPath.walk(absolute)) {
                case TrustedPath.Untrusted u -> throw refused(flag, dir, u.reason());
                case TrustedPath.Diverted d -> throw new IllegalStateException("no diversion was asked for");
                case TrustedPath.Reached end -> {
                    check(end, flag, dir);
                    return;
                }
                case TrustedPath.Missing missing -> {
                    try {
                        Files.createDirectory(missing.path());
                        // exactly: the umask only took bits away, now none are missing
                        Files.setPosixFilePermissions(missing.path(), missing.namesLeft() == 0 ? mode : DIR_IN_BETWEEN);
                    } catch (FileAlreadyExistsException raced) {
                        // someone made it meanwhile: the next walk looks at what is there
                    }
                }
            }
        }
        throw refused(flag, dir, "it could not be created");
    }

    /** The directory itself: a directory, the daemon's, and writable by no one else (sticky or not). */
    private static void check(TrustedPath.Reached end, String flag, Path dir) throws IOException {
        if (!end.isDirectory()) throw new IOException(flag + " " + dir + " exists and is not a directory");
        int mode = end.mode() & 07777;
        if (!TrustedPath.trusted(end.uid())) {
            throw new IOException(flag + " " + dir + " belongs to uid " + end.uid()
                    + ", who could replace what the daemon keeps there; it must belong to root");
        }
        if ((mode & 022) != 0) {
            throw new IOException(flag + " " + dir + " may be written by "
                    + ((mode & 002) != 0 ? "every user" : "its group")
                    + " (mode " + String.format("%04o", mode) + "), who could replace what the daemon keeps there; "
                    + "chmod go-w it, or choose another directory");
        }
    }

    private static IOException refused(String flag, Path dir, String why) {
        return new IOException(
                flag + " " + dir + " is refused: " + why
                        + ", and with it what the daemon keeps there; choose a directory only root can change, on a way only root can change");
    }
}
