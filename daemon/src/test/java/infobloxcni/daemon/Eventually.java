package infobloxcni.daemon;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/** Waiting in tests for what the daemon does in the background: polls a condition until a limit. */
public final class Eventually {
    /** What most background work (a tag, a refill, a settlement) needs on a loaded 2-core machine, with margin. */
    static final Duration DEFAULT_LIMIT = Duration.ofSeconds(20);

    private Eventually() {}

    public static void await(String what, BooleanSupplier condition) throws InterruptedException {
        await(what, DEFAULT_LIMIT, condition);
    }

    public static void await(String what, Duration limit, BooleanSupplier condition) throws InterruptedException {
        if (!within(limit, condition)) throw new AssertionError("timed out waiting until " + what);
    }

    /**
     * Whether the condition came true within the limit (polled as {@link #await} polls): for a test
     * that reports a wait that ran out as one of its findings instead of stopping there.
     */
    static boolean within(Duration limit, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) return false;
            Thread.sleep(25);
        }
        return true;
    }
}
