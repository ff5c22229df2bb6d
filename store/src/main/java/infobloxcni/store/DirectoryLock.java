package infobloxcni.store;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The exclusive lock on a journal directory's {@code LOCK} file: one holder at a time, whether
 * it is an open {@link Journal} or a {@link Journal#quarantine} moving the files aside. The
 * kernel releases it when the process dies, so a kill -9 never leaves a journal locked.
 */
final class DirectoryLock implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(DirectoryLock.class.getName());

    private final Path dir;
    private final FileChannel channel;
    private final FileLock lock;

    private DirectoryLock(Path dir, FileChannel channel, FileLock lock) {
        this.dir = dir;
        this.channel = channel;
        this.lock = lock;
    }

    /**
     * Creates {@code dir} (and its missing parents, 0700 each, see {@link PrivateFiles}) when
     * missing, then takes the lock without waiting.
     *
     * @throws JournalException when another process, or this JVM, holds it
     */
    static DirectoryLock acquire(Path dir) throws IOException {
        PrivateFiles.createDirectories(dir);
        FileChannel ch = openLockFile(dir.resolve(JournalFiles.LOCK));
        try {
            FileLock lock;
            try {
                lock = ch.tryLock();
            } catch (OverlappingFileLockException e) {
                throw new JournalException("journal " + dir + " is already open in this JVM");
            }
            if (lock == null) {
                throw new JournalException("journal " + dir + " is locked by another process");
            }
            return new DirectoryLock(dir, ch, lock);
        } catch (IOException | RuntimeException | Error e) {
            JournalFiles.closeQuietly(ch);
            throw e;
        }
    }

    /** The LOCK file, created (0600) when missing. Its content is never read nor written. */
    private static FileChannel openLockFile(Path file) throws IOException {
        try {
            return PrivateFiles.createFile(file);
        } catch (FileAlreadyExistsException e) {
            return FileChannel.open(file, StandardOpenOption.WRITE);
        }
    }

    Path directory() {
        return dir;
    }

    /** Releases the lock. Idempotent. */
    @Override
    public void close() {
        try {
            if (lock.isValid()) {
                lock.release();
            }
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "releasing journal lock", e);
        }
        JournalFiles.closeQuietly(channel);
    }
}
