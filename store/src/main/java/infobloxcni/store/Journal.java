package infobloxcni.store;

import static infobloxcni.store.JournalFiles.FRAME_OVERHEAD;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * The attachment store: an append-only, checksummed intent log with group commit, periodic
 * snapshots, and the whole state in memory. See docs/journal.md for the file formats, the
 * durability points and why every crash point is safe.
 *
 * <p>Threads: callers of {@link #put}/{@link #remove} hand their record to one writer thread and
 * wait (uninterruptibly) until it is fsynced; records that arrive while the writer is in an fsync
 * share the next one (group commit). File I/O never runs in a caller's thread, so interrupting a
 * caller cannot close the log channel. Snapshots are written by a second background thread while
 * writes continue into a new log generation.
 *
 * <p>One process at a time: {@link #open} takes an exclusive lock on {@code LOCK} in the directory.
 */
public final class Journal implements AttachmentStore {
  private static final System.Logger LOG = System.getLogger(Journal.class.getName());

  /** Most records one fsync covers; more waiting records go in the next batch. */
  static final int MAX_BATCH_RECORDS = 4096;
  /** Most bytes one batch writes. */
  static final int MAX_BATCH_BYTES = 4 << 20;

  private static final DateTimeFormatter QUARANTINE_STAMP =
      DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss.SSS'Z'").withZone(ZoneOffset.UTC);

  private final Path dir;
  private final JournalOptions options;
  private final FileChannel lockChannel;
  private final FileLock lock;
  private final ConcurrentHashMap<AttachmentKey, Attachment> map;

  private final LinkedBlockingQueue<Op> queue = new LinkedBlockingQueue<>();
  private final Object stateLock = new Object();
  private boolean closed; // guarded by stateLock
  private final Thread writer;
  private final Thread compactor;
  private final LinkedBlockingQueue<Runnable> compactorQueue = new LinkedBlockingQueue<>();
  private final AtomicBoolean compacting = new AtomicBoolean();

  // Owned by the writer thread (volatile where stats() reads them).
  private FileChannel log;
  private volatile long generation;
  private volatile long logSize;
  private volatile long nextSeq;
  private volatile Throwable failure;
  private byte[] batchBuf = new byte[64 << 10];

  private final AtomicLong commits = new AtomicLong();
  private final AtomicLong fsyncs = new AtomicLong();
  private final AtomicLong compactions = new AtomicLong();
  private final AtomicLong compactionFailures = new AtomicLong();
  private final long tornBytesDropped;
  private final int filesRemovedAtOpen;

  /** One mutation waiting for the writer. */
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
  private static final Runnable STOP_COMPACTOR = () -> { };

  private Journal(Path dir, JournalOptions options, FileChannel lockChannel, FileLock lock,
      Recovered r) {
    this.dir = dir;
    this.options = options;
    this.lockChannel = lockChannel;
    this.lock = lock;
    this.map = new ConcurrentHashMap<>(r.state);
    this.log = r.log;
    this.generation = r.generation;
    this.logSize = r.logSize;
    this.nextSeq = r.nextSeq;
    this.tornBytesDropped = r.tornBytes;
    this.filesRemovedAtOpen = r.filesRemoved;
    this.writer = Thread.ofPlatform().daemon(true).name("journal-writer " + dir)
        .unstarted(this::writerLoop);
    this.compactor = Thread.ofPlatform().daemon(true).name("journal-compactor " + dir)
        .unstarted(this::compactorLoop);
    writer.start();
    compactor.start();
  }

  // ---------------------------------------------------------------------------------------------
  // open / quarantine

  /** Opens (or creates, mode 0700) the journal in {@code directory} with default options. */
  public static Journal open(Path directory) throws JournalCorruptedException {
    return open(directory, JournalOptions.defaults());
  }

  /**
   * Opens (or creates, mode 0700) the journal in {@code directory}: loads the newest snapshot,
   * replays the logs after it, cuts a torn tail off the newest log, removes leftovers of an
   * interrupted compaction.
   *
   * @throws JournalCorruptedException acknowledged data is damaged or missing (never for a torn
   *     tail, which is an unacknowledged write)
   * @throws JournalException I/O error, or the journal is open in another process or this JVM
   */
  public static Journal open(Path directory, JournalOptions options)
      throws JournalCorruptedException {
    Objects.requireNonNull(directory, "directory");
    Objects.requireNonNull(options, "options");
    Path dir = directory.toAbsolutePath().normalize();
    FileChannel lockChannel = null;
    try {
      ensureDirectory(dir);
      lockChannel = FileChannel.open(dir.resolve(JournalFiles.LOCK), StandardOpenOption.CREATE,
          StandardOpenOption.WRITE);
      FileLock lock = acquire(lockChannel, dir);
      Recovered r = recover(dir);
      if (r.tornBytes > 0 || r.filesRemoved > 0) {
        LOG.log(Level.INFO, "journal {0}: recovered; dropped {1} torn bytes ({2}), removed {3}"
            + " leftover files", dir, r.tornBytes, r.tornReason, r.filesRemoved);
      }
      return new Journal(dir, options, lockChannel, lock, r);
    } catch (IOException e) {
      closeQuietly(lockChannel);
      throw new JournalException("cannot open journal " + dir + ": " + e, e);
    } catch (JournalCorruptedException | RuntimeException | Error e) {
      closeQuietly(lockChannel);
      throw e;
    }
  }

  /**
   * Moves every journal file (logs, snapshots, unfinished snapshots) into
   * {@code directory/corrupt-<UTC timestamp>/}, fsyncs, and returns that directory. Afterwards
   * {@link #open} starts an empty journal. Files are moved snapshots first, then logs oldest
   * first, so a crash in the middle leaves a directory that either opens with correct data or
   * is reported corrupted again (never one that opens with silently missing records).
   *
   * @throws JournalException on I/O error, or when the journal is open
   */
  public static Path quarantine(Path directory) {
    Objects.requireNonNull(directory, "directory");
    Path dir = directory.toAbsolutePath().normalize();
    FileChannel lockChannel = null;
    try {
      ensureDirectory(dir);
      lockChannel = FileChannel.open(dir.resolve(JournalFiles.LOCK), StandardOpenOption.CREATE,
          StandardOpenOption.WRITE);
      acquire(lockChannel, dir);
      String stamp = QUARANTINE_STAMP.format(Instant.now());
      Path target = dir.resolve("corrupt-" + stamp);
      for (int i = 1; Files.exists(target, LinkOption.NOFOLLOW_LINKS); i++) {
        target = dir.resolve("corrupt-" + stamp + "-" + i);
      }
      Files.createDirectory(target, PosixFilePermissions.asFileAttribute(
          PosixFilePermissions.fromString("rwx------")));
      List<Path> tmps = new ArrayList<>();
      List<Path> snaps = new ArrayList<>();
      List<Path> logs = new ArrayList<>();
      List<Path> moves = new ArrayList<>();
      try (Stream<Path> s = Files.list(dir)) {
        for (Path p : (Iterable<Path>) s::iterator) {
          String name = p.getFileName().toString();
          if (!Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
            continue;
          }
          if (name.startsWith("snapshot-") && name.endsWith(JournalFiles.TMP_SUFFIX)) {
            tmps.add(p);
          } else if (name.startsWith("snapshot-")) {
            snaps.add(p);
          } else if (name.startsWith("log-")) {
            logs.add(p);
          }
        }
      }
      Comparator<Path> byName = Comparator.comparing(p -> p.getFileName().toString());
      snaps.sort(byName.reversed());
      logs.sort(byName);
      moves.addAll(tmps);
      moves.addAll(snaps);
      moves.addAll(logs);
      for (Path p : moves) {
        Files.move(p, target.resolve(p.getFileName()), StandardCopyOption.ATOMIC_MOVE);
      }
      JournalFiles.fsyncDirectory(target);
      JournalFiles.fsyncDirectory(dir);
      LOG.log(Level.WARNING, "journal {0}: moved {1} files to {2}", dir, moves.size(), target);
      return target;
    } catch (IOException e) {
      throw new JournalException("cannot quarantine journal " + dir + ": " + e, e);
    } finally {
      closeQuietly(lockChannel);
    }
  }

  private static FileLock acquire(FileChannel lockChannel, Path dir) throws IOException {
    FileLock lock;
    try {
      lock = lockChannel.tryLock();
    } catch (OverlappingFileLockException e) {
      throw new JournalException("journal " + dir + " is already open in this JVM");
    }
    if (lock == null) {
      throw new JournalException("journal " + dir + " is locked by another process");
    }
    return lock;
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

  /** What recovery found; the writer continues from here. */
  private record Recovered(Map<AttachmentKey, Attachment> state, FileChannel log, long generation,
      long logSize, long nextSeq, long tornBytes, String tornReason, int filesRemoved) {}

  private static Recovered recover(Path dir) throws IOException, JournalCorruptedException {
    TreeMap<Long, Path> logs = new TreeMap<>();
    TreeMap<Long, Path> snaps = new TreeMap<>();
    List<Path> tmps = new ArrayList<>();
    try (Stream<Path> s = Files.list(dir)) {
      for (Path p : (Iterable<Path>) s::iterator) {
        String name = p.getFileName().toString();
        long g;
        if ((g = JournalFiles.generationOf(JournalFiles.LOG_NAME, name)) >= 0) {
          logs.put(g, p);
        } else if ((g = JournalFiles.generationOf(JournalFiles.SNAPSHOT_NAME, name)) >= 0) {
          snaps.put(g, p);
        } else if (JournalFiles.generationOf(JournalFiles.SNAPSHOT_TMP_NAME, name) >= 0) {
          tmps.add(p);
        }
      }
    }
    int removed = 0;
    // 1. An unfinished snapshot was never committed: it is garbage by definition.
    for (Path p : tmps) {
      Files.deleteIfExists(p);
      removed++;
    }

    // 2. The newest committed snapshot is the base; anything older is superseded.
    long base = snaps.isEmpty() ? 0 : snaps.lastKey();
    Map<AttachmentKey, Attachment> state = new HashMap<>();
    long lastSeq = 0;
    if (base > 0) {
      SnapshotFormat.Snapshot snap = SnapshotFormat.read(snaps.get(base), base);
      state.putAll(snap.records());
      lastSeq = snap.lastSeq();
    }
    NavigableMap<Long, Path> live = new TreeMap<>(base > 0 ? logs.tailMap(base, true) : logs);

    // 3. A newest log without a complete header was being created when the process died: no
    //    record can be in it (records are appended only after the header is fsynced).
    if (!live.isEmpty() && live.lastKey() != base) {
      Path newest = live.lastEntry().getValue();
      long size = Files.size(newest);
      if (size <= LogFormat.HEADER_SIZE && !LogFormat.headerIntact(JournalFiles.readAll(newest))) {
        Files.delete(newest);
        live.pollLastEntry();
        removed++;
      }
    }
    if (base > 0 && (live.isEmpty() || live.firstKey() != base)) {
      throw new JournalCorruptedException(dir.resolve(JournalFiles.logName(base)), -1,
          "missing: snapshot " + JournalFiles.snapshotName(base) + " exists but its log does not");
    }
    if (base == 0 && !live.isEmpty() && live.firstKey() != 1) {
      throw new JournalCorruptedException(live.firstEntry().getValue(),
          -1, "missing: no snapshot, but the oldest log is generation " + live.firstKey()
              + " (a log starting from generation 1 or a snapshot is needed)");
    }
    long expectGen = live.isEmpty() ? 0 : live.firstKey();
    for (long g : live.keySet()) {
      if (g != expectGen) {
        throw new JournalCorruptedException(dir.resolve(JournalFiles.logName(expectGen)), -1,
            "missing: log generation " + expectGen + " (have " + live.keySet() + ")");
      }
      expectGen++;
    }

    // 4. Replay the logs in order. Only the newest may end in a torn write.
    long tornBytes = 0;
    String tornReason = null;
    int validEnd = -1;
    for (Map.Entry<Long, Path> e : live.entrySet()) {
      boolean newest = e.getKey().equals(live.lastKey());
      byte[] d = JournalFiles.readAll(e.getValue());
      LogFormat.Replay r =
          LogFormat.replay(e.getValue(), d, e.getKey(), lastSeq + 1, newest, state);
      lastSeq = r.lastSeq();
      if (newest) {
        validEnd = r.validEnd();
        if (r.torn()) {
          tornBytes = d.length - r.validEnd();
          tornReason = r.tornReason() + " at offset " + r.validEnd() + " of " + e.getValue();
        }
      }
    }

    // 5. Continue in the newest log (cut at its valid end), or start generation 1.
    FileChannel ch;
    long generation;
    long size;
    if (live.isEmpty()) {
      generation = 1;
      ch = createLog(dir, generation, lastSeq + 1);
      size = LogFormat.HEADER_SIZE;
    } else {
      generation = live.lastKey();
      ch = FileChannel.open(live.lastEntry().getValue(), StandardOpenOption.WRITE);
      try {
        if (ch.size() != validEnd) {
          ch.truncate(validEnd);
          ch.force(true);
        }
      } catch (IOException ex) {
        closeQuietly(ch);
        throw ex;
      }
      size = validEnd;
    }

    // 6. Logs and snapshots older than the base were superseded by it (a compaction died
    //    between committing the snapshot and deleting them).
    for (Path p : logs.headMap(base, false).values()) {
      Files.deleteIfExists(p);
      removed++;
    }
    for (Path p : snaps.headMap(base, false).values()) {
      Files.deleteIfExists(p);
      removed++;
    }
    if (removed > 0) {
      JournalFiles.fsyncDirectory(dir);
    }
    return new Recovered(state, ch, generation, size, lastSeq + 1, tornBytes, tornReason, removed);
  }

  /** Creates a log file with its header, fsyncs it and the directory. */
  private static FileChannel createLog(Path dir, long generation, long startSeq)
      throws IOException {
    Path p = dir.resolve(JournalFiles.logName(generation));
    FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    try {
      JournalFiles.writeFully(ch, ByteBuffer.wrap(LogFormat.header(generation, startSeq)), 0);
      ch.force(true);
      JournalFiles.fsyncDirectory(dir);
      return ch;
    } catch (IOException | RuntimeException e) {
      closeQuietly(ch);
      try {
        Files.deleteIfExists(p);
        JournalFiles.fsyncDirectory(dir);
      } catch (IOException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // AttachmentStore

  @Override
  public Optional<Attachment> get(AttachmentKey key) {
    Objects.requireNonNull(key, "key");
    return Optional.ofNullable(map.get(key));
  }

  private static final Comparator<Attachment> BY_KEY = Comparator
      .comparing((Attachment a) -> a.key().network())
      .thenComparing(a -> a.key().containerId())
      .thenComparing(a -> a.key().ifName());

  @Override
  public List<Attachment> all() {
    List<Attachment> out = new ArrayList<>(map.values());
    out.sort(BY_KEY);
    return out;
  }

  @Override
  public List<Attachment> byContainer(String containerId) {
    Objects.requireNonNull(containerId, "containerId");
    List<Attachment> out = new ArrayList<>();
    for (Attachment a : map.values()) {
      if (a.key().containerId().equals(containerId)) {
        out.add(a);
      }
    }
    out.sort(BY_KEY);
    return out;
  }

  /**
   * Stores {@code a} under {@code a.key()}, replacing any previous record; returns once the
   * record is fsynced and visible to readers.
   *
   * @throws IllegalArgumentException when the encoded record exceeds 1 MiB
   * @throws JournalException on I/O failure (the write may or may not be on disk), or when closed
   */
  @Override
  public void put(Attachment a) {
    Objects.requireNonNull(a, "attachment");
    byte[] body = AttachmentCodec.encodeAttachment(a);
    if (body.length > LogFormat.MAX_BODY) {
      throw new IllegalArgumentException("attachment record too large: " + body.length
          + " bytes (max " + LogFormat.MAX_BODY + ")");
    }
    submit(new Op(LogFormat.TYPE_PUT, a.key(), a, body));
  }

  /**
   * Removes the record of {@code key}; returns once the removal is fsynced. When the key is
   * absent nothing is written (its absence is already durable).
   */
  @Override
  public void remove(AttachmentKey key) {
    Objects.requireNonNull(key, "key");
    ensureOpen();
    if (!map.containsKey(key)) {
      return;
    }
    submit(new Op(LogFormat.TYPE_REMOVE, key, null, AttachmentCodec.encodeKey(key)));
  }

  private void ensureOpen() {
    synchronized (stateLock) {
      if (closed) {
        throw new JournalException("journal " + dir + " is closed");
      }
    }
  }

  private void submit(Op op) {
    synchronized (stateLock) {
      if (closed) {
        throw new JournalException("journal " + dir + " is closed");
      }
      queue.add(op);
    }
    try {
      op.done.join(); // uninterruptible: the record may already be on its way to the disk
    } catch (CompletionException e) {
      Throwable c = e.getCause();
      throw new JournalException(c.getMessage(), c);
    }
  }

  /** Counters and sizes; cheap, lock-free. */
  public JournalStats stats() {
    return new JournalStats(map.size(), logSize, generation, commits.get(), fsyncs.get(),
        compactions.get(), compactionFailures.get(), nextSeq - 1, tornBytesDropped,
        filesRemovedAtOpen, failure != null);
  }

  /** The directory this journal lives in. */
  public Path directory() {
    return dir;
  }

  /** The options this journal was opened with. */
  public JournalOptions options() {
    return options;
  }

  @Override
  public void close() {
    synchronized (stateLock) {
      if (closed) {
        return;
      }
      closed = true;
      queue.add(STOP);
    }
    joinUninterruptibly(writer);
    compactorQueue.add(STOP_COMPACTOR);
    joinUninterruptibly(compactor);
    closeQuietly(log);
    try {
      lock.release();
    } catch (IOException e) {
      LOG.log(Level.DEBUG, "releasing journal lock", e);
    }
    closeQuietly(lockChannel);
  }

  // ---------------------------------------------------------------------------------------------
  // writer thread

  private void writerLoop() {
    List<Op> batch = new ArrayList<>();
    boolean stop = false;
    while (!stop) {
      batch.clear();
      Op first = takeUninterruptibly(queue);
      if (first == STOP) {
        break;
      }
      batch.add(first);
      queue.drainTo(batch, MAX_BATCH_RECORDS - 1);
      int stopAt = batch.indexOf(STOP);
      if (stopAt >= 0) {
        batch.subList(stopAt, batch.size()).clear();
        stop = true; // nothing can follow STOP: submit() refuses after close()
      }
      // Keep each batch below MAX_BATCH_BYTES: split when needed.
      int from = 0;
      while (from < batch.size()) {
        int to = from;
        long bytes = 0;
        while (to < batch.size()) {
          long len = FRAME_OVERHEAD + LogFormat.PAYLOAD_FIXED + batch.get(to).body.length;
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
      JournalException e = new JournalException("journal " + dir
          + " refuses writes after an earlier I/O failure (reopen to recover): " + failed, failed);
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
      int p = off + FRAME_OVERHEAD;
      b[p] = LogFormat.RECORD_VERSION;
      b[p + 1] = (byte) op.type;
      JournalFiles.putLong(b, p + 2, seq++);
      JournalFiles.putLong(b, p + 10, firstSeq);
      System.arraycopy(op.body, 0, b, p + LogFormat.PAYLOAD_FIXED, op.body.length);
      int payload = LogFormat.PAYLOAD_FIXED + op.body.length;
      JournalFiles.sealFrame(b, off, payload);
      off += FRAME_OVERHEAD + payload;
    }
    try {
      JournalFiles.writeFully(log, ByteBuffer.wrap(b, 0, off), logSize);
      log.force(false);
    } catch (IOException | RuntimeException e) {
      JournalException je = new JournalException("journal " + dir + ": write/fsync of "
          + JournalFiles.logName(generation) + " failed: " + e, e);
      fail(je);
      for (Op op : ops) {
        op.done.completeExceptionally(je);
      }
      return;
    }
    fsyncs.incrementAndGet();
    for (Op op : ops) {
      if (op.type == LogFormat.TYPE_PUT) {
        map.put(op.key, op.value);
      } else {
        map.remove(op.key);
      }
    }
    logSize += off;
    nextSeq = seq;
    commits.addAndGet(ops.size());
    for (Op op : ops) {
      op.done.complete(null);
    }
    maybeStartCompaction();
  }

  private void fail(Throwable t) {
    if (failure == null) {
      failure = t;
      LOG.log(Level.ERROR, "journal " + dir + " failed; writes are refused until reopened", t);
    }
  }

  /**
   * Compaction, step 1 (writer thread, between batches): start log generation G+1, then hand a
   * copy of the state as of the last record of generation G to the compactor.
   */
  private void maybeStartCompaction() {
    if (logSize < options.compactionThresholdBytes() || compacting.get() || failure != null) {
      return;
    }
    long newGen = generation + 1;
    FileChannel next;
    try {
      next = createLog(dir, newGen, nextSeq);
    } catch (IOException | RuntimeException e) {
      compactionFailures.incrementAndGet();
      LOG.log(Level.WARNING, "journal " + dir + ": cannot start log generation " + newGen, e);
      if (Files.exists(dir.resolve(JournalFiles.logName(newGen)))) {
        // An empty newer log would claim the records we keep appending to this one.
        fail(new JournalException("journal " + dir + ": cannot remove half-created "
            + JournalFiles.logName(newGen), e));
      }
      return;
    }
    closeQuietly(log);
    log = next;
    generation = newGen;
    logSize = LogFormat.HEADER_SIZE;
    List<Attachment> copy = new ArrayList<>(map.values()); // only this thread mutates map
    long coveredSeq = nextSeq - 1;
    compacting.set(true);
    compactorQueue.add(() -> writeSnapshot(newGen, coveredSeq, copy));
  }

  /**
   * Compaction, steps 2-4 (compactor thread): write snapshot-G+1.snap.tmp and fsync it; rename it
   * to snapshot-G+1.snap and fsync the directory (the commit point); delete the superseded logs
   * and snapshots and fsync the directory.
   */
  private void writeSnapshot(long gen, long coveredSeq, List<Attachment> records) {
    Path tmp = dir.resolve(JournalFiles.snapshotName(gen) + JournalFiles.TMP_SUFFIX);
    Path fin = dir.resolve(JournalFiles.snapshotName(gen));
    try {
      SnapshotFormat.write(tmp, gen, coveredSeq, records);
      Files.move(tmp, fin, StandardCopyOption.ATOMIC_MOVE);
      JournalFiles.fsyncDirectory(dir);
      deleteSuperseded(gen);
      compactions.incrementAndGet();
    } catch (IOException | RuntimeException e) {
      compactionFailures.incrementAndGet();
      LOG.log(Level.WARNING, "journal " + dir + ": snapshot generation " + gen
          + " failed (the logs still hold everything)", e);
      try {
        Files.deleteIfExists(tmp);
      } catch (IOException suppressed) {
        LOG.log(Level.DEBUG, "removing " + tmp, suppressed);
      }
    } finally {
      compacting.set(false);
    }
  }

  private void deleteSuperseded(long gen) throws IOException {
    boolean any = false;
    try (Stream<Path> s = Files.list(dir)) {
      for (Path p : (Iterable<Path>) s::iterator) {
        String name = p.getFileName().toString();
        long g = JournalFiles.generationOf(JournalFiles.LOG_NAME, name);
        if (g < 0) {
          g = JournalFiles.generationOf(JournalFiles.SNAPSHOT_NAME, name);
        }
        if (g >= 0 && g < gen) {
          Files.deleteIfExists(p);
          any = true;
        }
      }
    }
    if (any) {
      JournalFiles.fsyncDirectory(dir);
    }
  }

  private void compactorLoop() {
    while (true) {
      Runnable r = takeUninterruptibly(compactorQueue);
      if (r == STOP_COMPACTOR) {
        return;
      }
      r.run();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // helpers

  private static <T> T takeUninterruptibly(LinkedBlockingQueue<T> q) {
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

  private static void joinUninterruptibly(Thread t) {
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

  private static void closeQuietly(AutoCloseable c) {
    if (c == null) {
      return;
    }
    try {
      c.close();
    } catch (Exception e) {
      LOG.log(Level.DEBUG, "close", e);
    }
  }
}
