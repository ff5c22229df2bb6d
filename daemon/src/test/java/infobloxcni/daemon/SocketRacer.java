package infobloxcni.daemon;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;

/**
 * Run as another user by {@link FileModesTest}: connects to a socket path over and over, as fast
 * as it can, for {@code args[1]} seconds. Prints {@code CONNECTED} and exits 0 the first time a
 * connect succeeds (it got in, e.g. between a bind and the chmod after it); exits 1 if it never did.
 */
public final class SocketRacer {
    private SocketRacer() {}

    public static void main(String[] args) throws Exception {
        UnixDomainSocketAddress address = UnixDomainSocketAddress.of(Path.of(args[0]));
        long deadline = System.nanoTime() + Long.parseLong(args[1]) * 1_000_000_000L;
        long attempts = 0;
        while (System.nanoTime() < deadline) {
            attempts++;
            try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                channel.connect(address);
                System.out.println("CONNECTED after " + attempts + " attempts");
                return;
            } catch (IOException refused) {
                // not there yet, or not for us
            }
        }
        System.out.println("never connected in " + attempts + " attempts");
        System.exit(1);
    }
}
