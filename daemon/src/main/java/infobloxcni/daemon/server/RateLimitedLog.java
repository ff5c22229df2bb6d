package infobloxcni.daemon.server;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * At most one log line per key (a peer, a kind of failure) per interval, and the next one says how
 * many were left out: a flood of refused peers or failing accepts costs the log a line a minute,
 * not a line per event. Keys are few in practice; past {@value #MAX_KEYS} the memory is reset.
 */
final class RateLimitedLog {
    private static final int MAX_KEYS = 1024;

    private final System.Logger log;
    private final long intervalNanos;
    private final ConcurrentHashMap<String, Slot> slots = new ConcurrentHashMap<>();

    private static final class Slot {
        volatile long lastLogged;
        final AtomicLong suppressed = new AtomicLong();

        Slot(long now, long intervalNanos) {
            this.lastLogged = now - intervalNanos;
        }
    }

    RateLimitedLog(System.Logger log, java.time.Duration interval) {
        this.log = log;
        this.intervalNanos = interval.toNanos();
    }

    /** Logs {@code message} (with its {0}... parameters) unless {@code key} was logged within the interval. */
    void log(System.Logger.Level level, String key, String message, Object... params) {
        long now = System.nanoTime();
        if (slots.size() > MAX_KEYS) slots.clear();
        Slot slot = slots.computeIfAbsent(key, k -> new Slot(now, intervalNanos));
        synchronized (slot) {
            if (now - slot.lastLogged < intervalNanos) {
                slot.suppressed.incrementAndGet();
                return;
            }
            slot.lastLogged = now;
        }
        long left = slot.suppressed.getAndSet(0);
        String line = java.text.MessageFormat.format(message.replace("'", "''"), params);
        log.log(level, left == 0 ? line : line + " (and " + left + " more like it since the last such line)");
    }
}
