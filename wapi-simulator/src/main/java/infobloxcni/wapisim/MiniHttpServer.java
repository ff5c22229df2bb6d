package infobloxcni.wapisim;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A small HTTP/1.1 server on a {@link ServerSocket}: keep-alive, Content-Length and chunked request
 * bodies, {@code Expect: 100-continue}, optional TLS, and the two things the JDK's HttpServer cannot do:
 * drop a connection without answering, and stop/restart listening on the same port.
 * One virtual thread per connection.
 */
final class MiniHttpServer implements Closeable {

    /** A parsed request. Header names are lower-case. */
    record Request(String method, String target, String path, String rawQuery, String version,
                   Map<String, List<String>> headers, byte[] body, InetSocketAddress remote) {
        String header(String name) {
            List<String> v = headers.get(name.toLowerCase(Locale.ROOT));
            return v == null || v.isEmpty() ? null : v.getFirst();
        }
    }

    /** An answer to write. Headers in order; Content-Length is added. */
    record Response(int status, List<Map.Entry<String, String>> headers, byte[] body) {
    }

    /** What the handler wants done with a request. */
    sealed interface Outcome permits Reply, Drop {
    }

    /** Write the response, then run {@code after} (may be null). */
    record Reply(Response response, Runnable after) implements Outcome {
    }

    /** Reset the connection without writing anything. */
    record Drop() implements Outcome {
    }

    interface Handler {
        Outcome handle(Request request) throws IOException;
    }

    private static final int MAX_HEADER_BYTES = 64 * 1024;
    private static final int MAX_BODY_BYTES = 16 * 1024 * 1024;

    private final InetAddress bindAddress;
    private final SSLContext ssl;
    private final Handler handler;
    private final Duration idleTimeout;
    private final Set<Socket> connections = ConcurrentHashMap.newKeySet();
    private final AtomicLong accepted = new AtomicLong();
    private final Object listenLock = new Object();
    private volatile ServerSocket listener;
    private Thread acceptThread;
    private volatile int port;
    private volatile boolean closed;

    MiniHttpServer(InetAddress bindAddress, int port, SSLContext ssl, Handler handler, Duration idleTimeout) {
        this.bindAddress = bindAddress;
        this.port = port;
        this.ssl = ssl;
        this.handler = handler;
        this.idleTimeout = idleTimeout;
    }

    /** Binds and starts accepting. After the first bind, {@link #port()} is the real port. */
    void listen() throws IOException {
        synchronized (listenLock) {
            if (closed) throw new IOException("server closed");
            if (listener != null) return;
            ServerSocket ss = bindWithRetry();
            port = ss.getLocalPort();
            listener = ss;
            Thread t = Thread.ofPlatform().daemon().name("wapi-sim-accept-" + port).unstarted(() -> acceptLoop(ss));
            acceptThread = t;
            t.start();
        }
    }

    /**
     * Binds the port. Re-binding a port just given up can fail for a moment (the kernel may still hold the
     * old listener), so a fixed port is retried for up to two seconds.
     */
    private ServerSocket bindWithRetry() throws IOException {
        long deadline = System.nanoTime() + Duration.ofSeconds(2).toNanos();
        while (true) {
            ServerSocket ss = new ServerSocket();
            ss.setReuseAddress(true);
            try {
                ss.bind(new InetSocketAddress(bindAddress, port), 128);
                return ss;
            } catch (BindException e) {
                ss.close();
                if (port == 0 || System.nanoTime() > deadline) throw e;
                try {
                    Thread.sleep(20);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
            } catch (IOException e) {
                ss.close();
                throw e;
            }
        }
    }

    /** Stops listening (connections are refused) and resets every open connection. */
    void stopListening() {
        synchronized (listenLock) {
            ServerSocket ss = listener;
            listener = null;
            if (ss != null) {
                try {
                    ss.close();
                } catch (IOException ignored) {
                    // closing anyway
                }
            }
            for (Socket s : connections) abort(s);
            // the port is only free once the accept thread has left accept(): wait for it
            Thread t = acceptThread;
            acceptThread = null;
            if (t != null && t != Thread.currentThread()) {
                try {
                    t.join(2000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    int port() {
        return port;
    }

    long connectionsAccepted() {
        return accepted.get();
    }

    void resetConnectionsAccepted() {
        accepted.set(0);
    }

    int openConnections() {
        return connections.size();
    }

    @Override
    public void close() {
        closed = true;
        stopListening();
    }

    private void acceptLoop(ServerSocket ss) {
        while (!ss.isClosed()) {
            Socket s;
            try {
                s = ss.accept();
            } catch (IOException e) {
                return;  // closed (outage or shutdown)
            }
            accepted.incrementAndGet();
            connections.add(s);
            if (listener != ss) {  // raced with stopListening
                abort(s);
                connections.remove(s);
                continue;
            }
            Thread.ofVirtual().name("wapi-sim-conn").start(() -> serve(s));
        }
    }

    private void serve(Socket raw) {
        Socket s = raw;
        try {
            raw.setTcpNoDelay(true);
            if (!idleTimeout.isZero()) raw.setSoTimeout((int) Math.min(Integer.MAX_VALUE, idleTimeout.toMillis()));
            if (ssl != null) {
                SSLSocket tls = (SSLSocket) ssl.getSocketFactory().createSocket(raw, null, raw.getPort(), false);
                tls.setUseClientMode(false);
                tls.startHandshake();
                s = tls;
            }
            InputStream in = new BufferedInputStream(s.getInputStream());
            OutputStream out = new BufferedOutputStream(s.getOutputStream());
            while (!closed) {
                Request req;
                try {
                    req = readRequest(in, out, (InetSocketAddress) raw.getRemoteSocketAddress());
                } catch (BadRequest e) {
                    writeResponse(out, new Response(400, List.of(Map.entry("Content-Type", "application/json")),
                            Json.bytes(WapiError.proto(e.getMessage()).body())), false);
                    break;
                }
                if (req == null) break;  // clean end of the connection
                Outcome outcome = handler.handle(req);
                if (outcome instanceof Drop) {
                    abort(raw);
                    return;
                }
                Reply reply = (Reply) outcome;
                boolean keepAlive = keepAlive(req);
                writeResponse(out, reply.response(), keepAlive);
                if (reply.after() != null) reply.after().run();
                if (!keepAlive) break;
            }
            try {
                out.flush();
            } catch (IOException ignored) {
                // peer gone
            }
        } catch (IOException | RuntimeException e) {
            // peer went away, idle timeout, TLS failure or reset by an outage: just end the connection
        } finally {
            connections.remove(raw);
            try {
                s.close();
            } catch (IOException ignored) {
                // already closed
            }
            try {
                raw.close();
            } catch (IOException ignored) {
                // already closed
            }
        }
    }

    /** Closes with SO_LINGER 0: the peer sees a TCP reset, never an orderly (and retryable) EOF. */
    private static void abort(Socket s) {
        try {
            s.setSoLinger(true, 0);
        } catch (SocketException ignored) {
            // already closed
        }
        try {
            s.close();
        } catch (IOException ignored) {
            // already closed
        }
    }

    private static boolean keepAlive(Request req) {
        String conn = req.header("connection");
        String c = conn == null ? "" : conn.toLowerCase(Locale.ROOT);
        if (req.version().equals("HTTP/1.0")) return c.contains("keep-alive");
        return !c.contains("close");
    }

    private static final class BadRequest extends IOException {
        private static final long serialVersionUID = 1L;

        BadRequest(String message) {
            super(message);
        }
    }

    private static Request readRequest(InputStream in, OutputStream out, InetSocketAddress remote) throws IOException {
        String requestLine;
        int[] budget = {MAX_HEADER_BYTES};
        do {
            requestLine = readLine(in, budget, true);
            if (requestLine == null) return null;
        } while (requestLine.isEmpty());  // tolerate stray CRLF between requests
        String[] parts = requestLine.split(" ");
        if (parts.length != 3 || !parts[2].startsWith("HTTP/1.")) throw new BadRequest("Malformed request line");
        String method = parts[0];
        String target = parts[1];
        String version = parts[2];
        Map<String, List<String>> headers = new LinkedHashMap<>();
        while (true) {
            String line = readLine(in, budget, false);
            if (line == null) throw new EOFException("end of stream in headers");
            if (line.isEmpty()) break;
            int colon = line.indexOf(':');
            if (colon <= 0) throw new BadRequest("Malformed header line");
            String name = line.substring(0, colon).trim().toLowerCase(Locale.ROOT);
            headers.computeIfAbsent(name, k -> new ArrayList<>()).add(line.substring(colon + 1).trim());
        }
        String expect = first(headers, "expect");
        if (expect != null && expect.equalsIgnoreCase("100-continue")) {
            out.write("HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
        }
        byte[] body;
        String te = first(headers, "transfer-encoding");
        if (te != null && te.toLowerCase(Locale.ROOT).contains("chunked")) {
            body = readChunked(in, budget);
        } else {
            String cl = first(headers, "content-length");
            long len = 0;
            if (cl != null) {
                try {
                    len = Long.parseLong(cl.trim());
                } catch (NumberFormatException e) {
                    throw new BadRequest("Bad Content-Length");
                }
            }
            if (len < 0 || len > MAX_BODY_BYTES) throw new BadRequest("Bad Content-Length");
            body = in.readNBytes((int) len);
            if (body.length != len) throw new EOFException("end of stream in body");
        }
        String pathAndQuery = target;
        if (pathAndQuery.startsWith("http://") || pathAndQuery.startsWith("https://")) {
            int slash = pathAndQuery.indexOf('/', pathAndQuery.indexOf("//") + 2);
            pathAndQuery = slash < 0 ? "/" : pathAndQuery.substring(slash);
        }
        int q = pathAndQuery.indexOf('?');
        String rawPath = q < 0 ? pathAndQuery : pathAndQuery.substring(0, q);
        String rawQuery = q < 0 ? "" : pathAndQuery.substring(q + 1);
        String path;
        try {
            path = percentDecode(rawPath);
        } catch (IllegalArgumentException e) {
            throw new BadRequest("Malformed path");
        }
        return new Request(method, target, path, rawQuery, version, headers, body, remote);
    }

    private static String first(Map<String, List<String>> headers, String name) {
        List<String> v = headers.get(name);
        return v == null || v.isEmpty() ? null : v.getFirst();
    }

    /** Decodes %XX in a path as UTF-8; '+' stays '+'. */
    static String percentDecode(String s) {
        if (s.indexOf('%') < 0) return s;
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '%') {
                if (i + 2 >= s.length()) throw new IllegalArgumentException("bad escape");
                b.write(Integer.parseInt(s.substring(i + 1, i + 3), 16));
                i += 2;
            } else {
                byte[] bytes = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
                b.write(bytes, 0, bytes.length);
            }
        }
        return b.toString(StandardCharsets.UTF_8);
    }

    private static byte[] readChunked(InputStream in, int[] budget) throws IOException {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        while (true) {
            String sizeLine = readLine(in, budget, false);
            if (sizeLine == null) throw new EOFException("end of stream in chunk size");
            int semi = sizeLine.indexOf(';');
            String hex = (semi < 0 ? sizeLine : sizeLine.substring(0, semi)).trim();
            int size;
            try {
                size = Integer.parseInt(hex, 16);
            } catch (NumberFormatException e) {
                throw new BadRequest("Bad chunk size");
            }
            if (size < 0 || body.size() + size > MAX_BODY_BYTES) throw new BadRequest("Body too large");
            if (size == 0) {
                String trailer;
                do {
                    trailer = readLine(in, budget, false);
                } while (trailer != null && !trailer.isEmpty());
                return body.toByteArray();
            }
            byte[] chunk = in.readNBytes(size);
            if (chunk.length != size) throw new EOFException("end of stream in chunk");
            body.write(chunk);
            String crlf = readLine(in, budget, false);
            if (crlf == null || !crlf.isEmpty()) throw new BadRequest("Bad chunk framing");
        }
    }

    /** Reads a CRLF- (or LF-) terminated ISO-8859-1 line; null at end of stream before any byte. */
    private static String readLine(InputStream in, int[] budget, boolean eofOk) throws IOException {
        StringBuilder b = new StringBuilder();
        while (true) {
            int c = in.read();
            if (c < 0) {
                if (b.isEmpty() && eofOk) return null;
                if (b.isEmpty()) return null;
                throw new EOFException("end of stream in line");
            }
            if (--budget[0] < 0) throw new BadRequest("Headers too large");
            if (c == '\n') {
                int len = b.length();
                if (len > 0 && b.charAt(len - 1) == '\r') b.setLength(len - 1);
                return b.toString();
            }
            b.append((char) c);
        }
    }

    private static void writeResponse(OutputStream out, Response r, boolean keepAlive) throws IOException {
        StringBuilder h = new StringBuilder();
        h.append("HTTP/1.1 ").append(r.status()).append(' ').append(reason(r.status())).append("\r\n");
        for (Map.Entry<String, String> e : r.headers()) {
            h.append(e.getKey()).append(": ").append(e.getValue()).append("\r\n");
        }
        h.append("Content-Length: ").append(r.body().length).append("\r\n");
        if (!keepAlive) h.append("Connection: close\r\n");
        h.append("\r\n");
        out.write(h.toString().getBytes(StandardCharsets.ISO_8859_1));
        out.write(r.body());
        out.flush();
    }

    static String reason(int status) {
        return switch (status) {
            case 200 -> "OK";
            case 201 -> "Created";
            case 204 -> "No Content";
            case 400 -> "Bad Request";
            case 401 -> "Authorization Required";
            case 403 -> "Forbidden";
            case 404 -> "Not Found";
            case 405 -> "Method Not Allowed";
            case 409 -> "Conflict";
            case 429 -> "Too Many Requests";
            case 500 -> "Internal Server Error";
            case 502 -> "Bad Gateway";
            case 503 -> "Service Unavailable";
            case 504 -> "Gateway Timeout";
            default -> "Status";
        };
    }
}
