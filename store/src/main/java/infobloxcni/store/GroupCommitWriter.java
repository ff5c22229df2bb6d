package infobloxcni.store;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The one thread that appends to the log. Callers hand it an encoded record and wait; it takes
 * everything queued, writes it with one positional write, fsyncs once, applies the batch to the
 * in-memory state and only then completes the callers. Records that arrive during an fsync go
 * into the next batch, so concurrent writers share fsyncs (group commit). File I/O never runs in
 * a caller's thread: interrupting a caller cannot close the log channel.
 *
 * <p>After a failed write or fsync every further write is refused: the state of the page cache
 * is unknown and a retry could falsely succeed. Reopening recovers from what the disk has.
 *
 * <p>Between two batches it also rotates the log when the {@link Compactor} says so.
 */
final class GroupCommitWriter {
    private static final System.Logger LOG = System.getLogger(GroupCommitWriter.class.getName());

    /** Most records one fsync covers; more waiting records go in the next batch. */
    static final int MAX_BATCH_RECORDS = 4096;
    /** Most bytes one batch writes. */
    static final int MAX_BATCH_BYTES = 4 << 20;

    /** One mutation waiting for the writer (identity matters: {@link #STOP} is found by it). */
    private static final class Op {
        final int type;
        final AttachmentKey key;
        final Attachment value;
        final byte[] body;
        final CompletableFuture<Void> done = new CompletableFuture<>();

        Op(int type, AttachmentKey key, Attachment value, byte[] body) {
            this.type = type;
            this.key = key;
            this.value = value;
            this.body = body;
        }
    }

    private static final Op STOP = new Op(0, null, null, new byte[0]);

    private final Path dir;
    private final Map<AttachmentKey, Attachment> state;
    private final Compactor compactor;
    private final LinkedBlockingQueue<Op> queue = new LinkedBlockingQueue<>();
    private final Object closeLock = new Object();
    private boolean closed; // guarded by closeLock
    private final Thread thread;

    // Owned by the writer thread (volatile where stats read them).
    private FileChannel log;
    private volatile long generation;
    private volatile long logSize;
    private volatile long nextSeq;
    private volatile Throwable failure;
    private byte[] batchBuf = new byte[64 << 10];

    private final AtomicLong commits = new AtomicLong();
    private final AtomicLong fsyncs = new AtomicLong();

    /**
     * Starts the writer thread on {@code log} (open for writing, {@code logSize} bytes of valid
     * content). {@code state} is the acknowledged state: only this writer changes it, after each
     * fsync, so readers never see a write that could still be lost.
     */
    GroupCommitWriter(
            Path dir,
            FileChannel log,
            long generation,
            long logSize,
            long nextSeq,
            Map<AttachmentKey, Attachment> state,
            Compactor compactor) {
        this.dir = dir;
        this.log = log;
        this.generation = generation;
        this.logSize = logSize;
        this.nextSeq = nextSeq;
        this.state = state;
        this.compactor = compactor;
        this.thread =
                Thread.ofPlatform().daemon(true).name("journal-writer " + dir).start(this::loop);
    }

    /**
     * Appends one record and returns once it is fsynced and applied to the state. Waits
     * uninterruptibly: the record may already be on its way to the disk (the interrupt is kept).
     *
     * @param body the encoded attachment (put) or key (remove)
     * @throws JournalException when closed, or on a write/fsync failure (outcome unknown)
     */
    void append(int type, AttachmentKey key, Attachment value, byte[] body) {
        Op op = new Op(type, key, value, body);
        synchronized (closeLock) {
            ensureOpen();
            queue.add(op);
        }
        try {
            op.done.join();
        } catch (CompletionException e) {
            Throwable c = e.getCause();
            throw new JournalException(c.getMessage(), c);
        }
    }

    /** @throws JournalException when closed */
    void ensureOpen() {
        synchronized (closeLock) {
            if (closed) {
                throw new JournalException("journal " + dir + " is closed");
            }
        }
    }

    /**
     * Lets the queued records commit, stops the thread and closes the log. Returns false when it
     * was already closed.
     */
    boolean close() {
        synchronized (closeLock) {
            if (closed) {
                return false;
            }
            closed = true;
            queue.add(STOP);
        }
        Uninterruptibly.join(thread);
        JournalFiles.closeQuietly(log);
        return true;
    }

    long generation() {
        return generation;
    }

    long logSize() {
        return logSize;
    }

    long lastSequence() {
        return nextSeq - 1;
    }

    long commits() {
        return commits.get();
    }

    long fsyncs() {
        return fsyncs.get();
    }

    boolean failed() {
        return failure != null;
    }

    private void loop() {
        List<Op> batch = new ArrayList<>();
        boolean stop = false;
        while (!stop) {
            batch.clear();
            Op first = Uninterruptibly.take(queue);
            if (first == STOP) {
                break;
            }
            batch.add(first);
            queue.drainTo(batch, MAX_BATCH_RECORDS - 1);
            int stopAt = batch.indexOf(STOP);
            if (stopAt >= 0) {
                batch.subList(stopAt, batch.size()).clear();
                stop = true; // nothing can follow STOP: append() refuses after close()
            }
            // Keep each batch below MAX_BATCH_BYTES: split when needed.
            int from = 0;
            while (from < batch.size()) {
                int to = from;
                long bytes = 0;
                while (to < batch.size()) {
                    long len = WalFormat.frameSize(batch.get(to).body.length);
                    if (to > from && bytes + len > MAX_BATCH_BYTES) {
                        break;
                    }
                    bytes += len;
                    to++;
                }
                try {
                    commit(batch.subList(from, to), (int) bytes);
                } catch (Throwable t) { // never let the writer die: callers would wait forever
                    fail(t);
                    for (Op op : batch.subList(from, to)) {
                        op.done.completeExceptionally(t);
                    }
                }
                from = to;
            }
        }
    }

    private void commit(List<Op> ops, int bytes) {
        Throwable failed = failure;
        if (failed != null) {
            JournalException e = new JournalException(
                    "journal " + dir + " refuses writes after an earlier I/O failure (reopen to recover): " + failed,
                    failed);
            for (Op op : ops) {
                op.done.completeExceptionally(e);
            }
            return;
        }
        if (batchBuf.length < bytes) {
            batchBuf = new byte[Math.max(bytes, batchBuf.length * 2)];
        }
        byte[] b = batchBuf;
        long firstSeq = nextSeq;
        long seq = firstSeq;
        int off = 0;
        for (Op op : ops) {
            off += WalFormat.encodeRecord(b, off, op.type, seq++, firstSeq, op.body);
        }
        try {
            JournalFiles.writeFully(log, ByteBuffer.wrap(b, 0, off), logSize);
            log.force(false);
        } catch (IOException | RuntimeException e) {
            JournalException je = new JournalException(
                    "journal " + dir + ": write/fsync of " + JournalFiles.logName(generation) + " failed: " + e, e);
            fail(je);
            for (Op op : ops) {
                op.done.completeExceptionally(je);
            }
            return;
        }
        fsyncs.incrementAndGet();
        for (Op op : ops) {
            if (op.type == WalFormat.TYPE_PUT) {
                state.put(op.key, op.value);
            } else {
                state.remove(op.key);
            }
        }
        logSize += off;
        nextSeq = seq;
        commits.addAndGet(ops.size());
        for (Op op : ops) {
            op.done.complete(null);
        }
        maybeRotate();
    }

    private void fail(Throwable t) {
        if (failure == null) {
            failure = t;
            LOG.log(Level.ERROR, "journal " + dir + " failed; writes are refused until reopened", t);
        }
    }

    /**
     * Compaction step 1, between two batches: continue in log generation G+1 and hand the
     * compactor the state as of the last record of generation G (exactly the current state, since
     * only this thread changes it).
     */
    private void maybeRotate() {
        if (failure != null || !compactor.due(logSize)) {
            return;
        }
        long newGen = generation + 1;
        FileChannel next;
        try {
            next = compactor.startGeneration(newGen, nextSeq);
        } catch (JournalException e) {
            fail(e);
            return;
        }
        if (next == null) {
            return;
        }
        JournalFiles.closeQuietly(log);
        log = next;
        generation = newGen;
        logSize = WalFormat.HEADER_SIZE;
        compactor.snapshotInBackground(newGen, nextSeq - 1, new ArrayList<>(state.values()));
    }
}
