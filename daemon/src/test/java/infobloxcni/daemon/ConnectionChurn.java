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
 * {@code args[2]} seconds. With {@code args[3]}, each connection instead sends that text (a request
 * begun and never finished, say) and is held until the other end closes it, then made again.
 * Prints {@code churning} once every thread is at full speed (its first connection held, or its
 * first {@value #WARM} made and closed; at most 30 s), so a test needs no guessed delay, then
 * {@code connections=N}.
 */
public final class ConnectionChurn {
    /** Connections each closing thread makes before it counts as churning at full speed. */
    static final int WARM = 20;

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
        byte[] hold = args.length > 3 ? args[3].getBytes(java.nio.charset.StandardCharsets.UTF_8) : null;
        long end = System.nanoTime() + Long.parseLong(args[2]) * 1_000_000_000L;
        AtomicLong connections = new AtomicLong();
        List<Thread> running = new ArrayList<>();
        java.util.concurrent.CountDownLatch connected = new java.util.concurrent.CountDownLatch(threads);
        for (int i = 0; i < threads; i++) {
            running.add(Thread.ofPlatform().start(() -> {
                int made = 0;
                while (System.nanoTime() < end) {
                    try (SocketChannel ch = SocketChannel.open(family)) {
                        ch.connect(address);
                        connections.incrementAndGet();
                        if (hold != null) {
                            ch.write(java.nio.ByteBuffer.wrap(hold));
                            connected.countDown();
                            java.nio.ByteBuffer sink = java.nio.ByteBuffer.allocate(4096);
                            while (ch.read(sink) >= 0 && System.nanoTime() < end) sink.clear();
                        }
                        if (hold == null && ++made == WARM) connected.countDown();
                    } catch (Exception refusedOrReset) {
                        // turned away: try again at once
                    }
                }
            }));
        }
        connected.await(30, java.util.concurrent.TimeUnit.SECONDS);
        System.out.println("churning");
        System.out.flush();
        for (Thread t : running) t.join();
        // a held connection may still wait for the other end: the flood is over anyway
        System.out.println("connections=" + connections.get());
    }
}
