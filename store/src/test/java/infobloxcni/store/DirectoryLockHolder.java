package infobloxcni.store;

import java.nio.file.Path;

/**
 * Child process of {@link DirectoryLockTest}: takes the lock of {@code args[0]}, prints
 * {@code locked} and waits to be killed (at most a minute).
 */
public final class DirectoryLockHolder {
    public static void main(String[] args) throws Exception {
        DirectoryLock lock = DirectoryLock.acquire(Path.of(args[0]));
        System.out.println("locked " + lock.directory());
        System.out.flush();
        Thread.sleep(60_000);
    }
}
