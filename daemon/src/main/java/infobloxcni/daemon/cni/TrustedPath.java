package infobloxcni.daemon.cni;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;

/**
 * Walks an absolute path as the kernel resolves it, one name at a time, and says whether anyone
 * but root (or the daemon's own uid) could change what it leads to before the daemon uses it:
 * every directory on the way and every symbolic link must belong to root or the daemon's uid, and
 * no directory on the way may be writable by group or others unless it is sticky (in {@code /tmp}
 * nobody may rename or remove what is not theirs). The last name is owner-checked only; what it
 * must be (a namespace, a private directory) is for the caller to say.
 *
 * <p>Hand-written because the JDK resolves a path in one step ({@code toRealPath}, or a stat that
 * follows links) and tells nothing of the links and directories on the way; nothing here opens
 * anything: every step is an lstat or a readlink. Used for {@code CNI_NETNS} ({@link NetnsPath})
 * and the state and socket directories ({@link PrivateDirs}).
 */
public final class TrustedPath {
    /** Where a walk ended. */
    public sealed interface Walk permits Reached, Missing, Untrusted, Diverted {}

    /** The path exists and ends here (links, the last one too, followed); everything on the way is trusted. */
    public record Reached(Path path, int mode, int uid) implements Walk {
        public boolean isDirectory() {
            return (mode & S_IFMT) == S_IFDIR;
        }
    }

    /**
     * {@code path} does not exist; the directory it would be in was walked and is trusted.
     * {@code namesLeft} names were still to be walked after it (0: it is the last).
     */
    public record Missing(Path path, int namesLeft) implements Walk {}

    /** Someone else could change what the path leads to, or it cannot be examined. */
    public record Untrusted(String reason) implements Walk {}

    /** The walk reached {@code dir}, where the caller wanted to go on itself, with these names left. */
    public record Diverted(Path dir, List<String> rest) implements Walk {}

    static final int S_IFMT = 0170000, S_IFDIR = 0040000, S_IFLNK = 0120000;
    private static final int MAX_LINKS = 40;
    private static final Path ROOT = Path.of("/");
    /** The daemon's own (effective) uid: /proc/self belongs to it. */
    private static final Long SELF_UID = selfUid();

    private TrustedPath() {}

    /** Walks {@code absolute} to its end. */
    public static Walk walk(Path absolute) {
        return walk(absolute, null);
    }

    /** Walks {@code absolute}, stopping when it reaches the directory {@code divertAt} (null: nowhere). */
    public static Walk walk(Path absolute, Path divertAt) {
        if (!absolute.isAbsolute()) return new Untrusted(absolute + " is not an absolute path");
        Untrusted root = directoryOnTheWay(ROOT);
        if (root != null) return root;
        Deque<String> todo = new ArrayDeque<>(names(absolute));
        Path at = ROOT;
        int links = 0;
        Reached last = new Reached(ROOT, S_IFDIR, 0);
        while (!todo.isEmpty()) {
            String name = todo.removeFirst();
            if (name.equals(".")) continue;
            if (name.equals("..")) {
                at = at.getParent() == null ? ROOT : at.getParent(); // already checked on the way down
                last = new Reached(at, S_IFDIR, 0);
                continue;
            }
            if (at.equals(divertAt)) {
                List<String> rest = new ArrayList<>();
                rest.add(name);
                rest.addAll(todo);
                return new Diverted(at, rest);
            }
            Path next = at.resolve(name);
            Map<String, Object> a;
            try {
                a = Files.readAttributes(next, "unix:mode,uid", LinkOption.NOFOLLOW_LINKS);
            } catch (NoSuchFileException e) {
                return new Missing(next, todo.size());
            } catch (IOException | RuntimeException e) {
                return new Untrusted(next + " cannot be examined (" + e.getMessage() + ")");
            }
            int mode = (Integer) a.get("mode");
            int uid = (Integer) a.get("uid");
            boolean link = (mode & S_IFMT) == S_IFLNK;
            if (!trusted(uid)) {
                return new Untrusted(next + (link ? " is a symbolic link that belongs to uid " : " belongs to uid ")
                        + uid + ", who could " + (link ? "point it elsewhere" : "put something else there"));
            }
            if (link) {
                if (++links > MAX_LINKS)
                    return new Untrusted("it goes through more than " + MAX_LINKS + " symbolic links");
                Path target;
                try {
                    target = Files.readSymbolicLink(next);
                } catch (IOException | RuntimeException e) {
                    return new Untrusted(next + " cannot be read (" + e.getMessage() + ")");
                }
                List<String> rest = new ArrayList<>(names(target));
                rest.addAll(todo);
                todo = new ArrayDeque<>(rest);
                if (target.isAbsolute()) at = ROOT;
                continue;
            }
            last = new Reached(next, mode, uid);
            if (todo.isEmpty()) return last;
            if ((mode & S_IFMT) != S_IFDIR) return new Untrusted(next + " is not a directory");
            Untrusted dir = directoryOnTheWay(next);
            if (dir != null) return dir;
            at = next;
        }
        return last;
    }

    /** A directory on the way: trusted owner, and not writable by others unless sticky (as /tmp). */
    private static Untrusted directoryOnTheWay(Path dir) {
        Map<String, Object> a;
        try {
            a = Files.readAttributes(dir, "unix:mode,uid", LinkOption.NOFOLLOW_LINKS);
        } catch (IOException | RuntimeException e) {
            return new Untrusted(dir + " cannot be examined (" + e.getMessage() + ")");
        }
        int mode = (Integer) a.get("mode");
        int uid = (Integer) a.get("uid");
        if (!trusted(uid))
            return new Untrusted(dir + " belongs to uid " + uid + ", who could put something else there");
        if ((mode & 022) != 0 && (mode & 01000) == 0) {
            return new Untrusted(dir + " may be written by others (mode " + String.format("%04o", mode & 07777)
                    + ") and is not sticky, so they could rename what is in it and put something else there");
        }
        return null;
    }

    public static boolean trusted(int uid) {
        return uid == 0 || SELF_UID != null && uid == SELF_UID;
    }

    private static List<String> names(Path p) {
        List<String> out = new ArrayList<>();
        for (Path name : p) out.add(name.toString());
        return out;
    }

    private static Long selfUid() {
        try {
            return ((Number) Files.getAttribute(Path.of("/proc/self"), "unix:uid")).longValue();
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
