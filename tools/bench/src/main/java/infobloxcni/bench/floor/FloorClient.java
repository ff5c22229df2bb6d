package infobloxcni.bench.floor;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;

/**
 * The floor the plugin is measured against: the least a JDK-only client of the daemon must do.
 * It reads stdin, puts it and the {@code CNI_*} environment in one envelope
 * (docs/wire-protocol.md), connects to the socket named by its one argument, writes the envelope,
 * reads the answer, prints the answer's stdout and exits with its exit code. No JSON parsing, no
 * timeout, no connect retry, no error JSON: whatever the plugin spends beyond this is the plugin's
 * own cost. Run with the plugin's JVM flags and an AOT cache trained by {@link FloorStartupTraining}, the same
 * way the plugin's is.
 *
 * <p>Kept in the style of the plugin's hot path (no lambdas, streams, {@code String.format}).
 */
public final class FloorClient {
    private FloorClient() {}

    public static void main(String[] args) throws IOException {
        OutputStream out = new FileOutputStream(FileDescriptor.out);
        int code = run(args[0], System.getenv(), System.in, out);
        out.flush();
        System.exit(code);
    }

    /** One call: answers the daemon's exit code, after writing its stdout to {@code out}. */
    static int run(String socket, Map<String, String> environment, InputStream stdin, OutputStream out)
            throws IOException {
        byte[] config = stdin.readAllBytes();
        TreeMap<String, byte[]> fields = new TreeMap<>();
        for (Map.Entry<String, String> e : environment.entrySet()) {
            if (e.getKey().startsWith("CNI_")) {
                fields.put(e.getKey(), e.getValue().getBytes(StandardCharsets.UTF_8));
            }
        }
        fields.put("STDIN", config); // "STDIN" sorts after every "CNI_..." name, as the writer emits it
        int size = 8;
        for (Map.Entry<String, byte[]> f : fields.entrySet()) {
            size += 2 + f.getKey().length() + 4 + f.getValue().length;
        }
        ByteBuffer request = ByteBuffer.allocate(size);
        request.put(new byte[] {'I', 'B', 'C', 'N', 'I', 1}).putShort((short) fields.size());
        for (Map.Entry<String, byte[]> f : fields.entrySet()) {
            byte[] name = f.getKey().getBytes(StandardCharsets.UTF_8);
            request.putShort((short) name.length)
                    .put(name)
                    .putInt(f.getValue().length)
                    .put(f.getValue());
        }
        request.flip();
        try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            channel.connect(UnixDomainSocketAddress.of(socket));
            while (request.hasRemaining()) {
                channel.write(request);
            }
            channel.shutdownOutput();
            ByteBuffer header = readFully(channel, ByteBuffer.allocate(11));
            int code = header.get(6) & 0xff;
            ByteBuffer body = readFully(channel, ByteBuffer.allocate(header.getInt(7)));
            out.write(body.array(), 0, body.limit());
            return code;
        }
    }

    private static ByteBuffer readFully(SocketChannel channel, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            if (channel.read(buffer) < 0) {
                throw new IOException("the daemon closed the connection after " + buffer.position() + " bytes");
            }
        }
        return buffer.flip();
    }
}
