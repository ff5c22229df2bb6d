package infobloxcni.plugin;

import infobloxcni.wire.Envelope;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * A stand-in for infoblox-cni-daemon: listens on a Unix-domain socket, records every request and
 * answers with a function of it. Also runnable on its own for start-up measurements:
 * {@code java -cp plugin/target/test-classes:plugin/target/classes infobloxcni.plugin.FakeDaemon /tmp/x/infoblox.sock}.
 */
final class FakeDaemon implements AutoCloseable {
    static final String ADD_RESULT =
            "{\"cniVersion\":\"1.1.0\",\"ips\":[{\"address\":\"10.0.0.2/24\",\"gateway\":\"10.0.0.1\"}],\"dns\":{}}";

    final Path socket;
    final List<Envelope.Request> requests = new CopyOnWriteArrayList<>();
    /** Connections accepted, whether or not a request followed. */
    final AtomicInteger connections = new AtomicInteger();

    private final ServerSocketChannel server;
    private final Thread thread;
    private volatile Function<Envelope.Request, Envelope.Response> answer;

    FakeDaemon(Path socket, Function<Envelope.Request, Envelope.Response> answer) throws IOException {
        this.socket = socket;
        this.answer = answer;
        Files.deleteIfExists(socket);
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        thread = new Thread(this::serve, "fake-daemon");
        thread.setDaemon(true);
        thread.start();
    }

    /** A daemon that answers ADD with {@link #ADD_RESULT} and everything else with empty success. */
    static FakeDaemon healthy(Path socket) throws IOException {
        return new FakeDaemon(
                socket, r -> Envelope.Response.of(0, "ADD".equals(r.env().get("CNI_COMMAND")) ? ADD_RESULT : ""));
    }

    void answer(Function<Envelope.Request, Envelope.Response> answer) {
        this.answer = answer;
    }

    private void serve() {
        while (server.isOpen()) {
            SocketChannel ch;
            try {
                ch = server.accept();
            } catch (IOException e) {
                return;
            }
            connections.incrementAndGet();
            Thread t = new Thread(() -> handle(ch), "fake-daemon-conn");
            t.setDaemon(true);
            t.start();
        }
    }

    private void handle(SocketChannel ch) {
        try (ch) {
            InputStream in = Channels.newInputStream(ch);
            OutputStream out = Channels.newOutputStream(ch);
            Envelope.Request request = Envelope.Request.read(in);
            requests.add(request);
            Envelope.Response response = answer.apply(request);
            if (response != null) {
                response.write(out);
            }
        } catch (IOException | RuntimeException e) {
            // the client went away or the test's answer function threw: close the connection
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        Files.deleteIfExists(socket);
    }

    /** Stand-alone (ImpostorDaemonTest runs it as another user): serves until killed. */
    public static void main(String[] args) throws Exception {
        try (FakeDaemon d = healthy(Path.of(args[0]))) {
            System.err.println("fake daemon listening on " + d.socket);
            d.thread.join();
        }
    }

    static String str(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }
}
