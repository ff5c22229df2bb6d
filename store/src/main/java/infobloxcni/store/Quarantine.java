package infobloxcni.store;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;

/**
 * Moves a damaged journal's files aside, into {@code corrupt-<UTC timestamp>/}, so that the next
 * open starts empty while the files stay for forensics. The order of the moves makes a crash in
 * the middle safe (see {@link #moveAside}).
 */
final class Quarantine {
    private static final System.Logger LOG = System.getLogger(Quarantine.class.getName());

    private static final DateTimeFormatter STAMP =
            DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss.SSS'Z'").withZone(ZoneOffset.UTC);

    private Quarantine() {}

    /**
     * Takes the directory's lock, moves unfinished snapshots, then snapshots newest first, then
     * logs oldest first, and fsyncs both directories. A crash in the middle leaves a directory
     * that either opens with correct data (older, complete logs still there) or is reported
     * corrupted again ("missing"), never one that opens with records silently missing. The lock
     * and files that are not the journal's stay.
     *
     * @return the directory the files were moved to
     * @throws JournalException when the journal is open
     */
    static Path moveAside(Path dir) throws IOException {
        DirectoryLock lock = DirectoryLock.acquire(dir);
        try {
            String stamp = STAMP.format(Instant.now());
            Path target = dir.resolve("corrupt-" + stamp);
            for (int i = 1; Files.exists(target, LinkOption.NOFOLLOW_LINKS); i++) {
                target = dir.resolve("corrupt-" + stamp + "-" + i);
            }
            PrivateFiles.createDirectory(target);
            JournalFiles.Listing files = JournalFiles.list(dir);
            List<Path> moves = new ArrayList<>(files.tmps());
            moves.addAll(files.snapshots().descendingMap().values());
            moves.addAll(files.logs().values());
            int moved = 0;
            for (Path p : moves) {
                if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    Files.move(p, target.resolve(p.getFileName()), StandardCopyOption.ATOMIC_MOVE);
                    moved++;
                }
            }
            JournalFiles.fsyncDirectory(target);
            JournalFiles.fsyncDirectory(dir);
            LOG.log(Level.WARNING, "journal {0}: moved {1} files to {2}", dir, moved, target);
            return target;
        } finally {
            lock.close();
        }
    }
}
