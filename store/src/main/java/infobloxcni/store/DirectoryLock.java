package infobloxcni.store;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;

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
   * Creates {@code dir} (mode 0700, parent fsynced) when missing, then takes the lock without
   * waiting.
   *
   * @throws JournalException when another process, or this JVM, holds it
   */
  static DirectoryLock acquire(Path dir) throws IOException {
    ensureDirectory(dir);
    FileChannel ch = FileChannel.open(dir.resolve(JournalFiles.LOCK), StandardOpenOption.CREATE,
        StandardOpenOption.WRITE);
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

  private static void ensureDirectory(Path dir) throws IOException {
    if (Files.isDirectory(dir)) {
      return;
    }
    if (Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
      throw new JournalException(dir + " exists and is not a directory");
    }
    Path parent = dir.getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    try {
      Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(
          PosixFilePermissions.fromString("rwx------")));
    } catch (FileAlreadyExistsException e) {
      if (!Files.isDirectory(dir)) {
        throw e;
      }
    } catch (UnsupportedOperationException e) {
      Files.createDirectory(dir); // not a POSIX file system
    }
    if (parent != null) {
      JournalFiles.fsyncDirectory(parent);
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
