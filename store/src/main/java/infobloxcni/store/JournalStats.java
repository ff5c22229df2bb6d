package infobloxcni.store;

/**
 * Counters of a {@link Journal}. Counts are since {@link Journal#open}.
 *
 * @param records attachments currently stored
 * @param logBytes size of the current log file, header included
 * @param generation generation number of the current log file
 * @param commits mutations acknowledged (put/remove that returned normally and wrote a record)
 * @param fsyncs fsyncs of the log for commits (group commit: many commits share one)
 * @param compactions snapshots completed
 * @param compactionFailures compactions that failed (the journal stays correct; logs accumulate)
 * @param lastSequence sequence number of the last record written or recovered
 * @param tornBytesDropped bytes of torn tail cut off the newest log at open (an interrupted,
 *     never acknowledged write)
 * @param filesRemovedAtOpen leftovers of interrupted compactions removed at open
 * @param failed true after a write/fsync failure: writes are refused until reopened
 */
public record JournalStats(
        int records,
        long logBytes,
        long generation,
        long commits,
        long fsyncs,
        long compactions,
        long compactionFailures,
        long lastSequence,
        long tornBytesDropped,
        int filesRemovedAtOpen,
        boolean failed) {}
