package infobloxcni.wapi;

import java.time.Duration;

/**
 * A bound on all the grid calls one piece of work makes, however many there are: a CNI verb
 * ({@code Deadline.within(addTimeout, () -> ...)}) must not outlast its bound because it made two
 * calls of 20 s each. Carried in a {@link ScopedValue}, so the client's methods need no extra
 * parameter and a nested bound can only shorten the outer one. Every call the client makes
 * inside takes the smaller of its own call timeout and what is left; with nothing left, a call
 * is not sent at all (and so certainly not applied).
 */
public final class Deadline {
    private static final ScopedValue<Long> END = ScopedValue.newInstance();

    private Deadline() {}

    /** Runs {@code work} with at most {@code bound} for its grid calls (less if an outer deadline ends sooner). */
    public static <T, X extends Throwable> T within(Duration bound, ScopedValue.CallableOp<T, X> work) throws X {
        long end = System.nanoTime() + bound.toNanos();
        if (END.isBound() && END.get() - end < 0) end = END.get();
        return ScopedValue.where(END, end).call(work);
    }

    /** Nanoseconds left, or {@link Long#MAX_VALUE} outside any deadline. */
    public static long remainingNanos() {
        return END.isBound() ? END.get() - System.nanoTime() : Long.MAX_VALUE;
    }
}
