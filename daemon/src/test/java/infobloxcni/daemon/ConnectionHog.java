package infobloxcni.daemon;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Run as another user by {@link ConnectionLimitsTest}: opens {@code args[1]} connections to the
 * socket {@code args[0]} and sends nothing. A connection the daemon answers at once was turned away
 * ("busy"); one it leaves waiting for a request is held. Prints {@code held=N busy=M}, then keeps
 * every connection open until killed.
 */
public final class ConnectionHog {
    private ConnectionHog() {}

    public static void main(String[] args) throws Exception {
        UnixDomainSocketAddress address = UnixDomainSocketAddress.of(Path.of(args[0]));
        int count = Integer.parseInt(args[1]);
        List<SocketChannel> open = new ArrayList<>();
        int held = 0, busy = 0;
        for (int i = 0; i < count; i++) {
            SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
            channel.connect(address);
            channel.configureBlocking(false);
            open.add(channel);
            Thread.sleep(300);
            int n = channel.read(ByteBuffer.allocate(4096));
            if (n != 0) busy++; // an answer (or the connection closed) without a request: turned away
            else held++;
        }
        System.out.println("held=" + held + " busy=" + busy);
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
