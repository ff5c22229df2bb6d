package infobloxcni.daemon.state;

import java.util.concurrent.locks.ReentrantLock;

/**
 * Serializes work on the same attachment (network, container, interface) while letting other
 * attachments proceed. Striped: two keys may share a stripe, which only costs a little waiting.
 */
public final class KeyLocks {
    private final ReentrantLock[] stripes;

    public KeyLocks(int stripes) {
        this.stripes = new ReentrantLock[stripes];
        for (int i = 0; i < stripes; i++) this.stripes[i] = new ReentrantLock();
    }

    /** Locks the stripe of {@code key}; close the handle to unlock. */
    public Held lock(Object key) {
        ReentrantLock lock = stripeOf(key);
        lock.lock();
        return lock::unlock;
    }

    /** Locks only if nobody holds the stripe now (background work steps aside for requests). */
    public Held tryLock(Object key) {
        ReentrantLock lock = stripeOf(key);
        return lock.tryLock() ? lock::unlock : null;
    }

    /** Locks the stripe of {@code key}, waiting at most {@code limit}; null when it could not. */
    public Held lockWithin(Object key, java.time.Duration limit) {
        ReentrantLock lock = stripeOf(key);
        try {
            return lock.tryLock(limit.toNanos(), java.util.concurrent.TimeUnit.NANOSECONDS) ? lock::unlock : null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    private ReentrantLock stripeOf(Object key) {
        return stripes[Math.floorMod(key.hashCode() * 0x9E3779B9, stripes.length)];
    }

    public interface Held extends AutoCloseable {
        @Override
        void close();
    }
}
