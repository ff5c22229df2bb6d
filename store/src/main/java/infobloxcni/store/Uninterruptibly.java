package infobloxcni.store;

import java.util.concurrent.BlockingQueue;

/**
 * Waits that an interrupt cannot cut short. The journal's own threads and {@link Journal#close}
 * must not give up half-way (a record may be on its way to the disk); the interrupt is kept
 * for the caller to see.
 */
final class Uninterruptibly {
    private Uninterruptibly() {}

    static <T> T take(BlockingQueue<T> q) {
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return q.take();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    static void join(Thread t) {
        boolean interrupted = false;
        while (true) {
            try {
                t.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
