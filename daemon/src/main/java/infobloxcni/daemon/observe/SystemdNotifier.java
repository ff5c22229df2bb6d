package infobloxcni.daemon.observe;

import infobloxcni.wire.Envelope;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.newsclub.net.unix.AFUNIXDatagramSocket;
import org.newsclub.net.unix.AFUNIXSocketAddress;

/**
 * The daemon's side of systemd's notify protocol ({@code Type=notify}): {@code READY=1} once the
 * socket serves, {@code STATUS=} lines (grid health, journal, pools), {@code STOPPING=1}, and
 * {@code WATCHDOG=1} pings while the request path is alive. {@code NOTIFY_SOCKET} is a Unix
 * <em>datagram</em> socket, which the JDK cannot send to; junixsocket, already here for socket
 * activation, can. Without {@code NOTIFY_SOCKET} (not under systemd, or not Type=notify) every
 * call does nothing.
 *
 * <p>The watchdog pings only after a real request has gone through the daemon's own socket
 * (a VERSION, answered by the same accept loop and handler a plugin's ADD is): a daemon whose
 * request path hangs stops pinging, and systemd restarts it.
 */
public final class SystemdNotifier implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(SystemdNotifier.class.getName());
    private static final byte[] VERSION = "{\"cniVersion\":\"1.0.0\"}".getBytes(StandardCharsets.UTF_8);

    private final AFUNIXSocketAddress target;
    private final Duration watchdog;
    private final ScheduledExecutorService timer;

    private SystemdNotifier(AFUNIXSocketAddress target, Duration watchdog) {
        this.target = target;
        this.watchdog = watchdog;
        this.timer = target == null
                ? null
                : Executors.newSingleThreadScheduledExecutor(r -> {
                    Thread t = new Thread(r, "systemd-notify");
                    t.setDaemon(true);
                    return t;
                });
    }

    /** From {@code NOTIFY_SOCKET} ({@code /path} or {@code @abstract}) and {@code WATCHDOG_USEC}/{@code WATCHDOG_PID}. */
    public static SystemdNotifier fromEnvironment(Map<String, String> env) {
        String socket = env.get("NOTIFY_SOCKET");
        if (socket == null || socket.isEmpty()) return new SystemdNotifier(null, null);
        AFUNIXSocketAddress address;
        try {
            address = socket.startsWith("@")
                    ? AFUNIXSocketAddress.inAbstractNamespace(socket.substring(1))
                    : AFUNIXSocketAddress.of(Path.of(socket));
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "NOTIFY_SOCKET {0} unusable: {1}", socket, e.toString());
            return new SystemdNotifier(null, null);
        }
        Duration watchdog = null;
        String usec = env.get("WATCHDOG_USEC");
        String pid = env.get("WATCHDOG_PID");
        if (usec != null
                && (pid == null
                        || pid.equals(String.valueOf(ProcessHandle.current().pid())))) {
            try {
                long micros = Long.parseLong(usec.trim());
                if (micros > 0) watchdog = Duration.ofNanos(micros * 1000);
            } catch (NumberFormatException e) {
                LOG.log(System.Logger.Level.WARNING, "WATCHDOG_USEC {0} is not a number: no watchdog pings", usec);
            }
        }
        return new SystemdNotifier(address, watchdog);
    }

    /**
     * The daemon serves: READY=1 with a first status; then STATUS= every 10 s and, when systemd
     * asked for a watchdog, WATCHDOG=1 every half of its interval after a self-check through
     * {@code socket}.
     */
    public void ready(Path socket, Supplier<String> status) {
        if (target == null) return;
        send("READY=1\nSTATUS=" + status.get());
        timer.scheduleWithFixedDelay(() -> send("STATUS=" + status.get()), 10, 10, TimeUnit.SECONDS);
        if (watchdog != null) {
            long every = Math.max(100, watchdog.toMillis() / 2);
            timer.scheduleWithFixedDelay(
                    () -> {
                        if (requestPathAlive(socket, Duration.ofMillis(every))) send("WATCHDOG=1");
                        else
                            LOG.log(
                                    System.Logger.Level.WARNING,
                                    "the request path did not answer a self-check: no watchdog ping");
                    },
                    every,
                    every,
                    TimeUnit.MILLISECONDS);
        }
    }

    public void stopping() {
        if (target != null) send("STOPPING=1");
    }

    /** One VERSION request through the daemon's own socket, answered within {@code limit}. */
    static boolean requestPathAlive(Path socket, Duration limit) {
        var exec = Executors.newVirtualThreadPerTaskExecutor();
        try {
            Future<Boolean> check = exec.submit(() -> {
                try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                    channel.connect(UnixDomainSocketAddress.of(socket));
                    new Envelope.Request(Map.of("CNI_COMMAND", "VERSION"), VERSION)
                            .write(Channels.newOutputStream(channel));
                    return Envelope.Response.read(Channels.newInputStream(channel))
                                    .exitCode()
                            == 0;
                }
            });
            return check.get(limit.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException | TimeoutException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } finally {
            exec.shutdownNow();
        }
    }

    private synchronized void send(String message) {
        byte[] data = message.getBytes(StandardCharsets.UTF_8);
        try (AFUNIXDatagramSocket s = AFUNIXDatagramSocket.newInstance()) {
            s.connect(target); // junixsocket sends to a connected peer (an address in the packet is refused)
            s.send(new DatagramPacket(data, data.length));
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "systemd notify failed: {0}", e.toString());
        }
    }

    @Override
    public void close() {
        if (timer != null) timer.shutdownNow();
    }
}
