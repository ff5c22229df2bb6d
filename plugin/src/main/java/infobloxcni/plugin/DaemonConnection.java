package infobloxcni.plugin;

import infobloxcni.wire.CniError;
import infobloxcni.wire.DaemonIdentity;
import infobloxcni.wire.Envelope;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * One request to the daemon over {@code <ipam.socket-dir>/<ipam.type>.sock}: connect, check who
 * serves the socket, send, receive, all within {@code ipam.daemon-timeout} (a {@link Watchdog}).
 *
 * <p>Without systemd socket activation a restarting daemon leaves its socket refused or missing
 * for a moment; the connect is retried (10 ms pauses growing to 200 ms) for
 * {@code ipam.daemon-connect-timeout} before it is answered 11 (50 for STATUS). Other connect
 * failures, and failures after connecting, are answered at once.
 */
final class DaemonConnection {

    /** First pause between connect attempts. */
    static final long FIRST_RETRY_MILLIS = 10;
    /** Largest pause between connect attempts. */
    static final long MAX_RETRY_MILLIS = 200;

    private final ForwardingConf conf;
    private final String command;
    private final Path socket;
    /** The code of "the daemon is not there": STATUS must answer 50 ("cannot ADD") rather than 11. */
    private final int unavailable;

    private final long started;
    private final Watchdog watchdog;
    /** The current attempt's channel: a channel whose connect failed is closed, each retry opens one. */
    private SocketChannel channel;

    private DaemonConnection(ForwardingConf conf, String command) throws CniError {
        this.conf = conf;
        this.command = command;
        this.socket = conf.socketPath();
        this.unavailable = "STATUS".equals(command) ? CniError.STATUS_CANNOT_ADD : CniError.TRY_AGAIN_LATER;
        this.started = System.nanoTime();
        this.channel = open();
        this.watchdog = new Watchdog(channel, conf.timeoutMillis);
        watchdog.start();
    }

    /**
     * Connects, sends and receives, all within the configured timeout. A refused or missing socket
     * (the daemon restarting without socket activation) is retried for ipam.daemon-connect-timeout.
     */
    static Envelope.Response call(ForwardingConf conf, String command, Envelope.Request request) throws CniError {
        DaemonConnection connection = new DaemonConnection(conf, command);
        try {
            connection.connect();
            connection.checkIdentity();
            return connection.exchange(request);
        } finally {
            connection.watchdog.finish();
            close(connection.channel);
        }
    }

    private void connect() throws CniError {
        // while the daemon is up the first attempt is the only one: the retries cost nothing then
        long pause = FIRST_RETRY_MILLIS;
        while (true) {
            try {
                channel.connect(UnixDomainSocketAddress.of(socket));
                return;
            } catch (IOException | RuntimeException e) {
                if (watchdog.timedOut()) {
                    throw timeout("connecting");
                }
                boolean restarting = daemonRestarting(e, socket);
                long left = conf.connectTimeoutMillis * 1_000_000L - (System.nanoTime() - started);
                if (!restarting || left <= 0) {
                    throw notReachable(e, restarting && conf.connectTimeoutMillis > 0);
                }
                // the last pause ends at the connect deadline, so the last attempt is made there
                if (!pause(Math.min(pause, (left + 999_999) / 1_000_000L))) {
                    throw notReachable(e, false);
                }
                pause = Math.min(pause * 2, MAX_RETRY_MILLIS);
                // a channel whose connect failed is closed: every attempt needs a new one
                close(channel);
                channel = open();
                if (!watchdog.watch(channel)) {
                    throw timeout("connecting");
                }
            }
        }
    }

    /** Nothing is sent to, or believed from, a process that took the socket path but is not the daemon. */
    private void checkIdentity() throws CniError {
        String impostor = DaemonIdentity.problem(channel);
        if (impostor != null) {
            throw new CniError(
                    unavailable,
                    "infoblox plugin refuses to talk to " + socket + ": " + impostor,
                    "someone who may write " + socket.getParent()
                            + " put their own socket there; check who owns that"
                            + " directory, and restart infoblox-cni-daemon");
        }
    }

    private Envelope.Response exchange(Envelope.Request request) throws CniError {
        Envelope.Response response;
        try {
            IOException unsent = null;
            try {
                request.write(Channels.newOutputStream(channel));
            } catch (IOException e) {
                // The daemon answers some requests without reading them (busy: at a connection
                // limit, or draining a refused one) and closes: the write then fails with a broken
                // pipe, but its answer is there to read. Only without one is the write's failure
                // what the runtime hears.
                if (watchdog.timedOut()) throw e;
                unsent = e;
            }
            try {
                channel.shutdownOutput();
            } catch (IOException ignored) {
                // the daemon may already have closed its side; reading tells
            }
            try {
                response = Envelope.Response.read(new BufferedInputStream(Channels.newInputStream(channel), 8192));
            } catch (IOException noAnswer) {
                if (unsent == null) throw noAnswer;
                unsent.addSuppressed(noAnswer);
                throw unsent;
            }
        } catch (Envelope.TruncatedEnvelopeException e) {
            if (watchdog.timedOut()) {
                throw timeout("waiting for the answer");
            }
            throw new CniError(
                    unavailable,
                    "infoblox daemon at " + socket + " closed the connection without "
                            + (e.endedBeforeFirstByte() ? "answering" : "a complete answer")
                            + "; it may have restarted, try again",
                    e.getMessage());
        } catch (Envelope.MalformedEnvelopeException e) {
            throw new CniError(
                    CniError.IO_FAILURE,
                    "infoblox daemon at " + socket + " sent an answer the plugin cannot read: " + e.getMessage(),
                    "are the plugin and infoblox-cni-daemon from the same release?");
        } catch (IOException e) {
            if (watchdog.timedOut()) {
                throw timeout("waiting for the answer");
            }
            throw new CniError(
                    unavailable,
                    "infoblox daemon at " + socket + " failed during the request: " + reason(e)
                            + "; it may have restarted, try again",
                    e.toString());
        }
        if (!watchdog.finish()) {
            throw timeout("waiting for the answer");
        }
        return response;
    }

    private static SocketChannel open() throws CniError {
        try {
            return SocketChannel.open(StandardProtocolFamily.UNIX);
        } catch (IOException | UnsupportedOperationException e) {
            throw new CniError(
                    CniError.IO_FAILURE,
                    "infoblox plugin cannot open a Unix-domain socket: " + e.getMessage(),
                    e.toString());
        }
    }

    private static void close(SocketChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // nothing to do
        }
    }

    /**
     * True for the connect failures of a daemon that is restarting: the socket file is there but
     * nobody listens (refused), or it is not there yet. Anything else (permission denied, ...)
     * will not go away by waiting.
     */
    private static boolean daemonRestarting(Throwable e, Path socket) {
        if (e instanceof java.net.ConnectException) {
            return true; // ECONNREFUSED
        }
        // ENOENT; but a path too long for a Unix socket is "missing" too, and stays so
        String m = e.getMessage();
        return e.getClass() == java.net.SocketException.class
                && (m == null || !m.contains("too long"))
                && !Files.exists(socket);
    }

    /** Sleeps between connect attempts; false if interrupted. */
    private static boolean pause(long millis) {
        try {
            Thread.sleep(millis);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private CniError notReachable(Throwable e, boolean retried) {
        if (permissionDenied(e)) return notPermitted(e);
        String tried = retried
                ? ", still after retrying for " + conf.connectTimeoutText() + " (ipam.daemon-connect-timeout)"
                : "";
        return new CniError(
                unavailable,
                "infoblox daemon not reachable at " + socket + ": " + reason(e) + tried
                        + "; is infoblox-cni-daemon running?",
                "the plugin forwards every " + command + " to the daemon over " + socket
                        + " (<ipam.socket-dir>/<ipam.type>.sock); start the daemon, or make ipam.socket-dir"
                        + " and ipam.type match its --socket-dir and --driver-name");
    }

    /** EACCES on connect: the socket's mode or group keeps this caller out. Waiting will not change that. */
    private static boolean permissionDenied(Throwable e) {
        String m = e.getMessage();
        return e instanceof java.net.SocketException && m != null && m.contains("Permission denied");
    }

    /**
     * A permission problem (105, the code for a caller the daemon does not let in), not "is the
     * daemon running?": the daemon is there, and its socket's mode and group keep this user out.
     */
    private CniError notPermitted(Throwable e) {
        String mode = "";
        try {
            var attrs = Files.readAttributes(socket, java.nio.file.attribute.PosixFileAttributes.class);
            mode = " (mode " + java.nio.file.attribute.PosixFilePermissions.toString(attrs.permissions()) + ", owner "
                    + attrs.owner().getName() + ", group " + attrs.group().getName() + ")";
        } catch (IOException | UnsupportedOperationException | SecurityException unreadable) {
            // the directory may hide it too: the message says so without the mode
        }
        return new CniError(
                CniError.PEER_NOT_ALLOWED,
                "infoblox daemon at " + socket + " refused this user: permission denied on its socket" + mode,
                "the socket is root's alone unless the daemon's --socket-group and --socket-mode open it to a group;"
                        + " run the plugin as root (as CNI runtimes do), or have the operator add this user to that"
                        + " group (" + reason(e) + ")");
    }

    private CniError timeout(String phase) {
        return new CniError(
                unavailable,
                "infoblox daemon at " + socket + " did not answer within " + conf.timeoutText()
                        + " (ipam.daemon-timeout)",
                "timed out " + phase + "; the daemon may be overloaded or stuck,"
                        + " or the grid slow: raise ipam.daemon-timeout (1 to 600 s, default 60) or check the daemon's log");
    }

    private static String reason(Throwable e) {
        String m = e.getMessage();
        return m == null || m.isEmpty() ? e.getClass().getSimpleName() : m;
    }
}
