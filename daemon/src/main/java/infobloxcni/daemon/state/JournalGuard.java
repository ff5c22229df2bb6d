package infobloxcni.daemon.state;

import infobloxcni.store.Attachment;
import infobloxcni.store.AttachmentKey;
import infobloxcni.store.AttachmentStore;
import infobloxcni.store.Journal;
import infobloxcni.store.JournalException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * Keeps the daemon serving when its journal is damaged. An open that throws or hangs, or a read
 * or write that fails later, moves the journal aside (kept for forensics), starts an empty one
 * and flags it for a rebuild from the grid. The grid is the truth; the journal is a fast copy.
 */
public final class JournalGuard implements AttachmentStore {
    private static final System.Logger LOG = System.getLogger(JournalGuard.class.getName());

    private final Path dir;
    private final Duration openTimeout;
    private final java.time.Clock clock;
    private volatile AttachmentStore current;
    /** Open until the journal has been merged with this host's reservations on the grid. */
    private volatile CountDownLatch gridSync = new CountDownLatch(1);

    private final AtomicInteger quarantines = new AtomicInteger();
    private volatile boolean closed;

    private JournalGuard(Path dir, Duration openTimeout, java.time.Clock clock) {
        this.dir = dir;
        this.openTimeout = openTimeout;
        this.clock = clock;
    }

    /** @param clock stamps every record written ({@code updated}): the grace periods and backoffs run on it */
    public static JournalGuard open(Path dir, Duration openTimeout, java.time.Clock clock) {
        JournalGuard guard = new JournalGuard(dir, openTimeout, clock);
        try {
            guard.current = openWithin(dir, openTimeout);
        } catch (Exception e) {
            guard.quarantineAndStartEmpty(e);
        }
        return guard;
    }

    private static AttachmentStore openWithin(Path dir, Duration timeout) throws Exception {
        FutureTask<AttachmentStore> opening = new FutureTask<>(() -> Journal.open(dir));
        Thread opener = new Thread(opening, "journal-open");
        opener.setDaemon(true); // a hung open must not keep the process alive
        opener.start();
        try {
            return opening.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof Exception cause ? cause : e;
        } catch (TimeoutException e) {
            // Interrupting a thread blocked in file I/O closes its channels, which also releases
            // the journal's lock, so that the journal can be moved aside.
            opening.cancel(true);
            opener.join(2000);
            throw new TimeoutException(
                    "opening the journal in " + dir + " took longer than " + timeout.toSeconds() + " s");
        }
    }

    private synchronized void quarantineAndStartEmpty(Exception cause) {
        AttachmentStore broken = current;
        current = null;
        if (broken != null) {
            try {
                broken.close();
            } catch (RuntimeException ignored) {
                // it is broken; closing is a courtesy
            }
        }
        Path aside = Journal.quarantine(dir);
        quarantines.incrementAndGet();
        LOG.log(
                System.Logger.Level.ERROR,
                "JOURNAL DAMAGED (" + cause + "); moved aside to " + aside
                        + "; starting empty and rebuilding from the grid and the CNI cache");
        try {
            current = openWithin(dir, openTimeout);
        } catch (Exception e) {
            throw new JournalException("cannot start a fresh journal in " + dir + ": " + e.getMessage(), e);
        }
        if (gridSync.getCount() == 0) gridSync = new CountDownLatch(1);
    }

    private <T> T guarded(Supplier<T> op) {
        AttachmentStore before = current;
        try {
            return op.get();
        } catch (JournalException e) {
            synchronized (this) {
                // A journal closed on purpose is not damaged: a late background write must not open it again.
                if (closed) throw e;
                if (current == before) quarantineAndStartEmpty(e);
            }
            return op.get();
        }
    }

    /**
     * True until the journal has been merged with the grid: after every start (the journal may
     * have silently lost its last records, e.g. to a truncated file) and after a quarantine.
     */
    public boolean needsGridSync() {
        return gridSync.getCount() > 0;
    }

    public void gridSynced() {
        gridSync.countDown();
    }

    /** Waits (bounded) for the merge with the grid; false when it has not happened in time. */
    public boolean awaitGridSync(Duration max) {
        try {
            return gridSync.await(max.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** How often the journal had to be moved aside since start. */
    public int quarantines() {
        return quarantines.get();
    }

    @Override
    public Optional<Attachment> get(AttachmentKey key) {
        return guarded(() -> current.get(key));
    }

    @Override
    public List<Attachment> all() {
        return guarded(() -> current.all());
    }

    @Override
    public List<Attachment> byContainer(String containerId) {
        return guarded(() -> current.byContainer(containerId));
    }

    @Override
    public void put(Attachment a) {
        Attachment stamped = a.withUpdated(clock.instant());
        guarded(() -> {
            current.put(stamped);
            return null;
        });
    }

    @Override
    public void remove(AttachmentKey key) {
        guarded(() -> {
            current.remove(key);
            return null;
        });
    }

    @Override
    public synchronized void close() {
        closed = true;
        if (current != null) current.close();
    }
}
