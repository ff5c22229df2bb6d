package infobloxcni.daemon;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Run as another user by the flood tests: {@code args[1]} threads connect to {@code args[0]} (a
 * Unix socket's path, or {@code tcp:HOST:PORT}) and close at once, again and again, for
 * {@code args[2]} seconds. Prints {@code churning} once the threads run, then {@code connections=N}.
 */
public final class ConnectionChurn {
    private ConnectionChurn() {}

    public static void main(String[] args) throws Exception {
        SocketAddress address;
        StandardProtocolFamily family;
        if (args[0].startsWith("tcp:")) {
            int colon = args[0].lastIndexOf(':');
            address =
                    new InetSocketAddress(args[0].substring(4, colon), Integer.parseInt(args[0].substring(colon + 1)));
            family = StandardProtocolFamily.INET;
        } else {
            address = UnixDomainSocketAddress.of(Path.of(args[0]));
            family = StandardProtocolFamily.UNIX;
        }
        int threads = Integer.parseInt(args[1]);
        long end = System.nanoTime() + Long.parseLong(args[2]) * 1_000_000_000L;
        AtomicLong connections = new AtomicLong();
        List<Thread> running = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            running.add(Thread.ofPlatform().start(() -> {
                while (System.nanoTime() < end) {
                    try (SocketChannel ch = SocketChannel.open(family)) {
                        ch.connect(address);
                        connections.incrementAndGet();
                    } catch (Exception refusedOrReset) {
                        // turned away: try again at once
                    }
                }
            }));
        }
        System.out.println("churning");
        System.out.flush();
        for (Thread t : running) t.join();
        System.out.println("connections=" + connections.get());
    }
}
