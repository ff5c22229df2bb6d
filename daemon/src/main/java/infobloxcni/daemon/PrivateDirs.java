package infobloxcni.daemon;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.Set;

/**
 * The directories the daemon keeps its state and its socket in. Modes never depend on the umask
 * it was started with: a directory it creates gets exactly the mode asked for, and one that is
 * already there must belong to root (or to the daemon's own uid) and be writable by no one else,
 * since whoever may write it can replace what is inside (plant a journal, put their own socket in
 * place of the daemon's). Such a directory is refused, never silently used or "fixed".
 */
final class PrivateDirs {
    /** The state directory: the journal and nothing else; the daemon's alone. */
    static final Set<PosixFilePermission> PRIVATE = PosixFilePermissions.fromString("rwx------");
    /** The socket directory: anyone may look for the socket, whose own mode says who may connect. */
    static final Set<PosixFilePermission> SHARED_READ = PosixFilePermissions.fromString("rwxr-xr-x");

    private static final Set<PosixFilePermission> DIR_IN_BETWEEN = SHARED_READ;

    private PrivateDirs() {}

    /**
     * Makes sure {@code dir} is a directory only the daemon may change: creates it (and missing
     * parents, 0755) with {@code mode}, or checks the one that is there.
     *
     * @param flag the option that named the directory, for the error message
     */
    static void ensure(Path dir, Set<PosixFilePermission> mode, String flag) throws IOException {
        Path absolute = dir.toAbsolutePath();
        if (!Files.isDirectory(absolute)) {
            Path parent = absolute.getParent();
            if (parent != null && !Files.isDirectory(parent)) ensure(parent, DIR_IN_BETWEEN, flag + " (its parent)");
            try {
                Files.createDirectory(absolute);
                Files.setPosixFilePermissions(
                        absolute, mode); // exactly: the umask only took bits away, now none are missing
                return;
            } catch (FileAlreadyExistsException raced) {
                if (!Files.isDirectory(absolute))
                    throw new IOException(flag + " " + dir + " exists and is not a directory");
            }
        }
        check(absolute, flag);
    }

    /** Refuses a directory that another uid owns or that group or others may write. */
    static void check(Path dir, String flag) throws IOException {
        Map<String, Object> a = Files.readAttributes(dir, "unix:mode,uid"); // a symlink counts for what it leads to
        int mode = (Integer) a.get("mode") & 07777;
        int uid = (Integer) a.get("uid");
        if (uid != 0 && uid != selfUid()) {
            throw new IOException(flag + " " + dir + " belongs to uid " + uid
                    + ", who could replace what the daemon keeps there; " + "it must belong to root");
        }
        if ((mode & 022) != 0) {
            throw new IOException(flag + " " + dir + " may be written by "
                    + ((mode & 002) != 0 ? "every user" : "its group")
                    + " (mode " + String.format("%04o", mode) + "), who could replace what the daemon keeps there; "
                    + "chmod go-w it, or choose another directory");
        }
    }

    private static int selfUid() throws IOException {
        return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
    }
}
