package infobloxcni.daemon.cni;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Whether the daemon, which runs as root, may enter the {@code CNI_NETNS} a client names (it does,
 * with nsenter, to read the interface's MAC). Opening a file is not harmless for root: a FIFO
 * blocks the opener forever, a device may rewind a tape or arm a watchdog. So the daemon enters
 * only a network namespace file, which is a regular file on nsfs (the file system of
 * {@code /proc/self/ns/net}), and only one reached through directories, links and a file that
 * belong to root (or to the daemon's own uid) and that no one else may write: nsenter opens the
 * path a moment after this check, and by then nobody else can have put something else there.
 * {@code /proc/<pid>/ns/net} (and {@code /proc/<pid>/task/<tid>/ns/net}) are accepted as they
 * are: whatever process holds that pid, the link leads to a namespace.
 *
 * <p>Nothing is opened here: every step is an lstat, a readlink, and a stat of the end.
 */
public final class NetnsPath {
    enum Kind {
        /** Nothing there (the container is gone, or was never there): nothing to enter, nothing to refuse. */
        ABSENT,
        /** A network namespace, safe to enter. */
        NAMESPACE,
        /** Something the daemon must not open; {@link Verdict#reason()} says why. */
        REFUSED
    }

    record Verdict(Kind kind, String reason) {
        static final Verdict ABSENT = new Verdict(Kind.ABSENT, "it does not exist");
        static final Verdict NAMESPACE = new Verdict(Kind.NAMESPACE, "a network namespace");

        static Verdict refused(String reason) {
            return new Verdict(Kind.REFUSED, reason);
        }
    }

    static final int MAX_LENGTH = 4096;
    private static final int S_IFMT = 0170000, S_IFREG = 0100000;
    private static final int S_IFIFO = 0010000, S_IFCHR = 0020000, S_IFBLK = 0060000, S_IFSOCK = 0140000;
    private static final Path PROC = Path.of("/proc");
    private static final Pattern PID = Pattern.compile("[1-9][0-9]{0,9}|self|thread-self");
    private static final Pattern TID = Pattern.compile("[1-9][0-9]{0,9}");
    /** st_dev of nsfs, or null where there is none (then nothing is ever entered). */
    private static final Long NSFS_DEV = attribute(Path.of("/proc/self/ns/net"), "dev", true);

    private NetnsPath() {}

    public static Verdict check(String netns) {
        if (netns == null || netns.isEmpty()) return Verdict.ABSENT;
        if (netns.length() > MAX_LENGTH) return Verdict.refused("it is longer than " + MAX_LENGTH + " characters");
        if (netns.indexOf('\0') >= 0) return Verdict.refused("it holds a NUL character");
        if (!netns.startsWith("/")) return Verdict.refused("it is not an absolute path");
        if (NSFS_DEV == null)
            return Verdict.refused("this host has no /proc/self/ns/net to tell a network namespace by");
        Path path;
        try {
            path = Path.of(netns);
        } catch (InvalidPathException e) {
            return Verdict.refused("it is not a path this host can name (" + e.getReason() + ")");
        }
        return switch (TrustedPath.walk(path, PROC)) {
            case TrustedPath.Missing missing -> Verdict.ABSENT;
            case TrustedPath.Untrusted untrusted ->
                Verdict.refused(untrusted.reason() + " before the daemon enters it");
            case TrustedPath.Diverted proc -> procEntry(proc.rest());
            case TrustedPath.Reached end ->
                end.isDirectory()
                        ? Verdict.refused("it is a directory, not a network namespace")
                        : endsInNamespace(end.path(), end.mode());
        };
    }

    /** Under /proc only {@code <pid>/ns/net} and {@code <pid>/task/<tid>/ns/net}: no way into a process's files. */
    private static Verdict procEntry(List<String> names) {
        String first = names.getFirst();
        boolean shape = PID.matcher(first).matches()
                && (names.equals(List.of(first, "ns", "net"))
                        || names.size() == 5
                                && names.get(1).equals("task")
                                && TID.matcher(names.get(2)).matches()
                                && names.get(3).equals("ns")
                                && names.get(4).equals("net"));
        if (!shape)
            return Verdict.refused("under /proc only <pid>/ns/net and <pid>/task/<tid>/ns/net are network namespaces");
        Path target = PROC.resolve(String.join("/", names));
        Map<String, Object> a;
        try {
            a = Files.readAttributes(target, "unix:mode,dev"); // follows the namespace link
        } catch (NoSuchFileException e) {
            return Verdict.ABSENT;
        } catch (AccessDeniedException e) {
            return Verdict.refused(target + " cannot be examined (permission denied)");
        } catch (IOException | RuntimeException e) {
            return Verdict.refused(target + " cannot be examined (" + e.getMessage() + ")");
        }
        return (((Integer) a.get("mode")) & S_IFMT) == S_IFREG && NSFS_DEV.equals(((Number) a.get("dev")).longValue())
                ? Verdict.NAMESPACE
                : Verdict.refused(target + " is not a network namespace");
    }

    private static Verdict endsInNamespace(Path file, int mode) {
        int type = mode & S_IFMT;
        if (type == S_IFREG) {
            Long dev = attribute(file, "dev", false);
            if (NSFS_DEV.equals(dev)) return Verdict.NAMESPACE;
            return Verdict.refused("it is a regular file, not a network namespace");
        }
        String what = switch (type) {
            case S_IFIFO -> "a FIFO";
            case S_IFCHR -> "a character device";
            case S_IFBLK -> "a block device";
            case S_IFSOCK -> "a socket";
            default -> "a file of type " + Integer.toOctalString(type);
        };
        return Verdict.refused("it is " + what + ", not a network namespace");
    }

    private static Long attribute(Path p, String name, boolean follow) {
        try {
            Object value = follow
                    ? Files.getAttribute(p, "unix:" + name)
                    : Files.getAttribute(p, "unix:" + name, LinkOption.NOFOLLOW_LINKS);
            return ((Number) value).longValue();
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
