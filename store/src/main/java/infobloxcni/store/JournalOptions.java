package infobloxcni.store;

/**
 * Tuning of a {@link Journal}.
 *
 * @param compactionThresholdBytes when the current log reaches this size a new log generation is
 *     started and a snapshot written in the background (default 4 MiB; tests use tiny values)
 */
public record JournalOptions(long compactionThresholdBytes) {
    public static final long DEFAULT_COMPACTION_THRESHOLD = 4L << 20;

    public JournalOptions {
        if (compactionThresholdBytes < 1) {
            throw new IllegalArgumentException("compactionThresholdBytes must be >= 1");
        }
    }

    public static JournalOptions defaults() {
        return new JournalOptions(DEFAULT_COMPACTION_THRESHOLD);
    }
}
