package infobloxcni.daemon.observe;

import java.util.logging.LogManager;

/**
 * The JDK's log manager, except that the JVM's own shutdown hook may not silence it before the
 * daemon's hook has written its last lines. The JDK resets (removes and closes) every handler
 * from a shutdown hook of its own, and shutdown hooks run concurrently: a SIGTERM's "stopping",
 * the settlements left waiting and "stopped" reached the journal only when the daemon's hook won
 * that race (a stressed CI run lost it). DaemonMain names it in {@code java.util.logging.manager}
 * before any logger exists (loading this class first would initialise LogManager, which reads that
 * property, too early);
 * the daemon calls {@link #stopped()} once its hook is done, which does the reset the JDK asked for.
 */
public final class ShutdownLogManager extends LogManager {
    private volatile boolean daemonStopped;

    /** Public for the JDK, which makes the manager named by {@code java.util.logging.manager}. */
    public ShutdownLogManager() {}

    /** The daemon's hook is done: handlers may go now (flushed and closed, as the JDK would). */
    public static void stopped() {
        if (LogManager.getLogManager() instanceof ShutdownLogManager manager) {
            manager.daemonStopped = true;
            manager.reset();
        }
    }

    /** Held back while the daemon is still stopping: the JDK's hook calls this concurrently with ours. */
    @Override
    public void reset() {
        if (daemonStopped || !shuttingDown()) super.reset();
    }

    /** True during the JVM's shutdown: a hook can no longer be added then. */
    private static boolean shuttingDown() {
        Thread probe = new Thread(() -> {});
        try {
            Runtime.getRuntime().addShutdownHook(probe);
            Runtime.getRuntime().removeShutdownHook(probe);
            return false;
        } catch (IllegalStateException e) {
            return true;
        }
    }
}
