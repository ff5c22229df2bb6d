package infobloxcni.wapisim;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.net.BindException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;

/**
 * The simulator's HTTP/1.1 server, on Netty: keep-alive, Content-Length and chunked request bodies,
 * {@code Expect: 100-continue} and TLS come from Netty's codecs and {@link SslHandler}. What a grid
 * simulator needs beyond a web server is done here with Netty's public API:
 *
 * <ul>
 *   <li><b>drop</b>: reset a connection after a complete request without a response byte, before or after
 *       applying the call: {@code SO_LINGER 0}, then close from the first handler of the pipeline, which
 *       sits below the {@link SslHandler}, so no TLS {@code close_notify} is sent and the peer sees a TCP RST;</li>
 *   <li><b>outage</b>: close the listening channel and reset every open connection, then bind the same
 *       port again ({@code SO_REUSEADDR});</li>
 *   <li>connection accounting (accepted since start or reset, open now) and an idle timeout for keep-alive
 *       connections, not counting the time a request is being handled.</li>
 * </ul>
 *
 * <p>The handler is blocking (latency faults sleep, the model takes a lock), so it runs on a virtual
 * thread, never on an event loop; a connection's requests are handled one at a time, in order.
 *
 * <p><b>Why Netty</b> (it replaced a hand-written server on {@code ServerSocket}; the JDK's
 * {@code HttpServer} can neither drop without answering nor give up its port and take it back). Checked
 * against the sources and by experiment, on Linux with JDK 25:
 * <ul>
 *   <li>okhttp's {@code mockwebserver} 4.12.0 ({@code MockWebServer.kt}, {@code SocketPolicy.kt}):
 *       {@code DISCONNECT_AFTER_REQUEST} is a plain {@code socket.close()}, so the client reads an orderly
 *       EOF, and under TLS a {@code close_notify} first, never a reset; the dispatcher cannot reach the
 *       socket to change that ({@code RecordedRequest} does not expose it). {@code start()} after
 *       {@code shutdown()} throws "start() already called", and a new instance on the same port failed
 *       with "Address already in use" for 5 s after a server-closed connection (ephemeral ports are bound
 *       without {@code SO_REUSEADDR}). It has no idle timeout (an idle keep-alive connection stayed open),
 *       ignores a request's {@code Connection: close}, counts requests but neither accepted nor open
 *       connections, keeps every request in memory until {@code takeRequest()}, and pulls in JUnit 4.</li>
 *   <li>Jetty: its connectors are non-blocking, for which the JDK leaves {@code SO_LINGER} undefined
 *       ({@code StandardSocketOptions.SO_LINGER}), and Jetty removed its soLinger setting for that reason
 *       (jetty/jetty.project PR #2644), so a reset is not part of its API. Not tried further, nor
 *       Undertow, once Netty did the job.</li>
 *   <li>Netty 4.2 does each part through public API: {@code SO_LINGER 0} then a close below the
 *       {@code SslHandler} gave "Connection reset" to a plain and to a TLS client (NIO and epoll
 *       transports alike), and a closed server channel bound the same port again at once. Its NIO
 *       channel is non-blocking too, so the reset rests on what Linux does with {@code SO_LINGER 0}
 *       (measured: a raw socket client reads "Connection reset"), not on a JDK promise.</li>
 * </ul>
 */
final class NettyHttpServer implements Closeable {

    /** A parsed request. Header names are lower-case. */
    record Request(
            String method,
            String target,
            String path,
            String rawQuery,
            String version,
            Map<String, List<String>> headers,
            byte[] body,
            InetSocketAddress remote) {
        String header(String name) {
            List<String> v = headers.get(name.toLowerCase(Locale.ROOT));
            return v == null || v.isEmpty() ? null : v.getFirst();
        }
    }

    /** An answer to write. Headers in order; Content-Length is added. */
    record Response(int status, List<Map.Entry<String, String>> headers, byte[] body) {}

    /** What the handler wants done with a request. */
    sealed interface Outcome permits Reply, Drop {}

    /** Write the response, then run {@code after} (may be null). */
    record Reply(Response response, Runnable after) implements Outcome {}

    /** Reset the connection without writing anything. */
    record Drop() implements Outcome {}

    interface Handler {
        Outcome handle(Request request) throws IOException;
    }

    private static final int MAX_HEADER_BYTES = 64 * 1024;
    private static final int MAX_BODY_BYTES = 16 * 1024 * 1024;
    /** The pipeline's first handler: closing from its context bypasses the TLS layer above it. */
    private static final String BELOW_TLS = "below-tls";

    private final InetAddress bindAddress;
    private final SSLContext ssl;
    private final Handler handler;
    private final Duration idleTimeout;
    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(
            2, new DefaultThreadFactory("wapi-sim-io", true), NioIoHandler.newFactory());
    private final ChannelGroup connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private final AtomicLong accepted = new AtomicLong();
    private final Object listenLock = new Object();
    private final ServerBootstrap bootstrap;
    private volatile Channel listener;
    private volatile int port;
    private volatile boolean closed;

    NettyHttpServer(InetAddress bindAddress, int port, SSLContext ssl, Handler handler, Duration idleTimeout) {
        this.bindAddress = bindAddress;
        this.port = port;
        this.ssl = ssl;
        this.handler = handler;
        this.idleTimeout = idleTimeout;
        this.bootstrap = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .option(ChannelOption.SO_REUSEADDR, true)
                .option(ChannelOption.SO_BACKLOG, 128)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        accept(ch);
                    }
                });
    }

    /** Binds and starts accepting. After the first bind, {@link #port()} is the real port. */
    void listen() throws IOException {
        synchronized (listenLock) {
            if (closed) throw new IOException("server closed");
            if (listener != null) return;
            Channel ch = bindWithRetry();
            port = ((InetSocketAddress) ch.localAddress()).getPort();
            listener = ch;
        }
    }

    /**
     * Binds the port. Re-binding a port just given up can fail for a moment (the kernel may still hold the
     * old listener), so a fixed port is retried for up to two seconds.
     */
    private Channel bindWithRetry() throws IOException {
        long deadline = System.nanoTime() + Duration.ofSeconds(2).toNanos();
        while (true) {
            try {
                return bootstrap.bind(bindAddress, port).syncUninterruptibly().channel();
            } catch (Exception e) {
                if (!(e instanceof BindException) || port == 0 || System.nanoTime() > deadline) {
                    throw e instanceof IOException io ? io : new IOException(e);
                }
                try {
                    Thread.sleep(20);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw (BindException) e;
                }
            }
        }
    }

    /** Stops listening (connections are refused) and resets every open connection. */
    void stopListening() {
        synchronized (listenLock) {
            Channel ch = listener;
            listener = null;
            if (ch != null) {
                ch.close().syncUninterruptibly();
                awaitRefusal();
            }
            for (Channel c : connections) abort(c);
            connections.newCloseFuture().awaitUninterruptibly(2, TimeUnit.SECONDS);
        }
    }

    /**
     * Returns once a connect to the port is refused (at most two seconds). Netty's close future completes
     * before the socket stops listening: the JDK defers closing a channel registered with a selector until
     * the event loop's next select deregisters it, and a connection made in between is taken by the kernel
     * and reset when the socket goes, which a client reads as "Connection reset" (the request may have been
     * applied) where an outage promises a refusal. Probing is the one check that does not rest on the event
     * loop's order; a probe the kernel took is reset with the rest and never reaches a handler.
     */
    private void awaitRefusal() {
        InetAddress target =
                bindAddress == null || bindAddress.isAnyLocalAddress() ? InetAddress.getLoopbackAddress() : bindAddress;
        long deadline = System.nanoTime() + Duration.ofSeconds(2).toNanos();
        while (System.nanoTime() < deadline) {
            try (Socket probe = new Socket()) {
                probe.connect(new InetSocketAddress(target, port), 200);
            } catch (ConnectException refused) {
                return;
            } catch (IOException other) {
                // a timeout or a reset: not yet a refusal, look again
            }
            Thread.onSpinWait();
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
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }

    private void accept(SocketChannel ch) {
        accepted.incrementAndGet();
        connections.add(ch);
        if (listener == null) { // raced with stopListening: the closing listener accepted one more
            abort(ch);
            return;
        }
        ChannelPipeline p = ch.pipeline();
        p.addLast(BELOW_TLS, new ChannelDuplexHandler());
        if (ssl != null) {
            SSLEngine engine = ssl.createSSLEngine();
            engine.setUseClientMode(false);
            p.addLast(new SslHandler(engine));
        }
        Connection conn = new Connection();
        if (!idleTimeout.isZero()) {
            p.addLast(new IdleStateHandler(0, 0, idleTimeout.toMillis(), TimeUnit.MILLISECONDS));
        }
        p.addLast(new HttpServerCodec(MAX_HEADER_BYTES, MAX_HEADER_BYTES, 8192));
        p.addLast(new HttpObjectAggregator(MAX_BODY_BYTES) {
            @Override
            protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
                conn.reject(ctx, HttpUtil.isContentLengthSet(oversized) ? "Bad Content-Length" : "Body too large");
            }
        });
        p.addLast(conn);
    }

    /** Resets a connection: SO_LINGER 0, closed below TLS. The peer sees a TCP RST, never an orderly EOF. */
    private static void abort(Channel ch) {
        try {
            ch.config().setOption(ChannelOption.SO_LINGER, 0);
        } catch (RuntimeException ignored) {
            // already closed
        }
        ChannelHandlerContext below = ch.pipeline().context(BELOW_TLS);
        if (below != null) below.close();
        else ch.close();
    }

    /** One connection: hands its requests to the handler one at a time, on a virtual thread. */
    private final class Connection extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final ArrayDeque<Request> waiting = new ArrayDeque<>(); // event loop only
        private boolean busy; // event loop only

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest msg) {
            if (!msg.decoderResult().isSuccess()) {
                reject(
                        ctx,
                        msg.decoderResult().cause() instanceof TooLongFrameException
                                ? "Headers too large"
                                : "Malformed request line");
                return;
            }
            Request req;
            try {
                req = request(ctx, msg);
            } catch (IllegalArgumentException e) {
                reject(ctx, "Malformed path");
                return;
            }
            waiting.add(req);
            if (!busy) next(ctx);
        }

        private void next(ChannelHandlerContext ctx) {
            Request req = waiting.poll();
            if (req == null) {
                busy = false;
                ctx.channel().config().setAutoRead(true);
                return;
            }
            busy = true;
            ctx.channel().config().setAutoRead(false);
            Thread.ofVirtual().name("wapi-sim-request").start(() -> {
                Outcome outcome;
                try {
                    outcome = handler.handle(req);
                } catch (IOException | RuntimeException e) {
                    ctx.close();
                    return;
                }
                onLoop(ctx, () -> finish(ctx, req, outcome));
            });
        }

        private void finish(ChannelHandlerContext ctx, Request req, Outcome outcome) {
            if (closed || !ctx.channel().isActive()) {
                ctx.close();
                return;
            }
            if (outcome instanceof Drop) {
                waiting.clear();
                abort(ctx.channel());
                return;
            }
            Reply reply = (Reply) outcome;
            boolean keepAlive = keepAlive(req);
            ctx.writeAndFlush(response(reply.response(), keepAlive)).addListener((ChannelFutureListener) f -> {
                Runnable then = () -> {
                    if (!keepAlive || !f.isSuccess()) {
                        waiting.clear();
                        ctx.close();
                    } else {
                        next(ctx);
                    }
                };
                if (reply.after() == null) {
                    then.run();
                } else { // as written, before the connection's next request; off the event loop (it may stop listening)
                    Thread.ofVirtual().start(() -> {
                        reply.after().run();
                        onLoop(ctx, then);
                    });
                }
            });
        }

        /** Continues on the connection's event loop; after {@link #close()} there is none, and nothing to continue. */
        private void onLoop(ChannelHandlerContext ctx, Runnable task) {
            try {
                ctx.executor().execute(task);
            } catch (RejectedExecutionException e) {
                ctx.channel().close();
            }
        }

        /** A request the codec could not read: a WAPI 400, then the connection is closed. */
        private void reject(ChannelHandlerContext ctx, String text) {
            waiting.clear();
            busy = true; // nothing more is read from this connection
            ctx.writeAndFlush(response(
                            new Response(
                                    400,
                                    List.of(Map.entry("Content-Type", "application/json")),
                                    Json.bytes(WapiError.proto(text).body())),
                            false))
                    .addListener(ChannelFutureListener.CLOSE);
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
            if (evt instanceof IdleStateEvent) {
                if (!busy) ctx.close(); // idle keep-alive connection; a request being handled is not idle
                return;
            }
            super.userEventTriggered(ctx, evt);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close(); // peer went away, TLS failure or reset by an outage: just end the connection
        }
    }

    private static Request request(ChannelHandlerContext ctx, FullHttpRequest msg) {
        Map<String, List<String>> headers = new LinkedHashMap<>();
        for (Map.Entry<String, String> h : msg.headers()) {
            headers.computeIfAbsent(h.getKey().toLowerCase(Locale.ROOT), k -> new ArrayList<>())
                    .add(h.getValue().trim());
        }
        String target = msg.uri();
        String pathAndQuery = target;
        if (pathAndQuery.startsWith("http://") || pathAndQuery.startsWith("https://")) {
            int slash = pathAndQuery.indexOf('/', pathAndQuery.indexOf("//") + 2);
            pathAndQuery = slash < 0 ? "/" : pathAndQuery.substring(slash);
        }
        int q = pathAndQuery.indexOf('?');
        String rawPath = q < 0 ? pathAndQuery : pathAndQuery.substring(0, q);
        String rawQuery = q < 0 ? "" : pathAndQuery.substring(q + 1);
        return new Request(
                msg.method().name(),
                target,
                percentDecode(rawPath),
                rawQuery,
                msg.protocolVersion().text(),
                headers,
                ByteBufUtil.getBytes(msg.content()),
                (InetSocketAddress) ctx.channel().remoteAddress());
    }

    private static boolean keepAlive(Request req) {
        String conn = req.header("connection");
        String c = conn == null ? "" : conn.toLowerCase(Locale.ROOT);
        if (req.version().equals("HTTP/1.0")) return c.contains("keep-alive");
        return !c.contains("close");
    }

    private static FullHttpResponse response(Response r, boolean keepAlive) {
        FullHttpResponse out = new DefaultFullHttpResponse(
                HttpVersion.HTTP_1_1,
                new HttpResponseStatus(r.status(), reason(r.status())),
                Unpooled.wrappedBuffer(r.body()));
        for (Map.Entry<String, String> e : r.headers()) out.headers().add(e.getKey(), e.getValue());
        out.headers().set("Content-Length", r.body().length);
        if (!keepAlive) out.headers().set("Connection", "close");
        return out;
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

    /** The reason phrases a grid's web server (Apache) sends, 401 included. */
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
