package infobloxcni.daemon.server;

import infobloxcni.daemon.cni.LogText;
import infobloxcni.wire.Envelope;
import java.io.IOException;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.newsclub.net.unix.AFUNIXServerSocketChannel;
import org.newsclub.net.unix.FileDescriptorCast;

/**
 * The Unix socket the plugin talks to. One virtual thread per connection, so slow grid calls for
 * one container never hold up another. The socket file is owner-only unless configured. What a
 * client may hold is bounded ({@link SocketLimits}): connections ({@link ConnectionLimiter}, by the
 * peer's credentials, {@link PeerPolicy}), and the time to send its request and take the answer
 * ({@link IoDeadlines}).
 */
public final class SocketServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(SocketServer.class.getName());

    private final Path path;
    private final Set<PosixFilePermission> permissions;
    private final String group;
    private final EnvelopeHandler handler;
    private final ExecutorService connections = Executors.newVirtualThreadPerTaskExecutor();
    private ServerSocketChannel server;
    private boolean ownsSocketFile;
    /** The inode bound at start: on close, the path is removed only if it still is that one. */
    private Object socketFile;

    private static final SecureRandom RANDOM = new SecureRandom();
    private Thread acceptor;
    private PeerPolicy policy = new PeerPolicy(false);
    private final RateLimitedLog refusals = new RateLimitedLog(LOG, Duration.ofMinutes(1));
    /** Busy, slow, malformed, failed accepts: one line a minute per kind and peer. */
    private final RateLimitedLog warnings = new RateLimitedLog(LOG, Duration.ofMinutes(1));

    private final ConnectionLimiter limiter;
    private final IoDeadlines deadlines = new IoDeadlines();
    private static final long FIRST_ACCEPT_PAUSE_MILLIS = 10, MAX_ACCEPT_PAUSE_MILLIS = 1000;
    /** How long, and how much, a refused request's remaining bytes are read and dropped after the answer. */
    static final Duration DRAIN_TIME = Duration.ofSeconds(1);

    static final long DRAIN_BYTES = Envelope.MAX_TOTAL_BYTES + 64 * 1024;

    public SocketServer(
            Path path,
            Set<PosixFilePermission> permissions,
            String group,
            SocketLimits limits,
            EnvelopeHandler handler) {
        this.path = path;
        this.permissions = permissions;
        this.group = group;
        this.limiter = new ConnectionLimiter(limits);
        this.handler = handler;
    }

    /**
     * Takes the socket systemd passed (socket activation), or binds one; refuses when another
     * daemon already serves the path.
     */
    public void start() throws IOException {
        server = inheritedFromSystemd();
        if (server != null) {
            policy = policyOfInherited();
            LOG.log(System.Logger.Level.INFO, "serving the socket systemd passed (socket activation) for {0}", path);
        } else {
            bind();
            policy = new PeerPolicy(group != null);
        }
        acceptor = Thread.ofPlatform().name("socket-acceptor").daemon(true).start(this::acceptLoop);
        LOG.log(System.Logger.Level.INFO, "listening on {0}", path);
    }

    /**
     * Binds the socket so that it is never reachable with other permissions than configured:
     * bound in a fresh 0700 directory beside it, given its mode and group there, then renamed
     * into place. Only a stale socket is ever removed from the path; anything else there is left
     * alone and the start refused.
     */
    private void bind() throws IOException {
        Path dir = path.toAbsolutePath().getParent();
        PrivateDirs.ensure(dir, PrivateDirs.SHARED_READ, "--socket-dir");
        removeStaleSocket();
        Path staging = stagingDirectory(dir);
        Path staged = staging.resolve("s");
        try {
            server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            server.bind(UnixDomainSocketAddress.of(staged));
            PosixFileAttributeView view = Files.getFileAttributeView(staged, PosixFileAttributeView.class);
            view.setPermissions(permissions);
            if (group != null) {
                GroupPrincipal principal =
                        path.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByGroupName(group);
                view.setGroup(principal);
            }
            Files.move(staged, path, StandardCopyOption.ATOMIC_MOVE);
            socketFile = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
                    .fileKey();
            ownsSocketFile = true;
        } catch (IOException | RuntimeException e) {
            if (server != null) server.close();
            Files.deleteIfExists(staged);
            throw e;
        } finally {
            Files.deleteIfExists(staging);
        }
    }

    private void removeStaleSocket() throws IOException {
        BasicFileAttributes there;
        try {
            there = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException nothing) {
            return;
        }
        if (!there.isOther()) { // sockets are "other"; a file, a directory, a link are not ours to remove
            throw new IOException("refusing to replace " + path + ": it is "
                    + (there.isSymbolicLink()
                            ? "a symbolic link"
                            : there.isDirectory() ? "a directory" : "a regular file")
                    + ", not a stale socket; remove it yourself if it may go");
        }
        if (someoneListens(path)) {
            throw new IOException("another daemon is already serving " + path + "; stop it first");
        }
        LOG.log(System.Logger.Level.INFO, "removing stale socket {0}", path);
        Files.delete(path);
    }

    /** A new directory only this process can enter, with a short name (socket paths have ~107 bytes). */
    private static Path stagingDirectory(Path dir) throws IOException {
        for (int attempt = 0; ; attempt++) {
            Path staging = dir.resolve(".ibcni-" + Long.toHexString(RANDOM.nextLong() & 0xffffffffL));
            try {
                return Files.createDirectory(
                        staging, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            } catch (FileAlreadyExistsException taken) {
                if (attempt > 20) throw taken;
            }
        }
    }

    /**
     * systemd's protocol: LISTEN_PID is our pid and LISTEN_FDS=1 means fd 3 is a listening socket
     * (set up by infoblox-cni-daemon.socket, which also owns its path and permissions).
     */
    private static ServerSocketChannel inheritedFromSystemd() throws IOException {
        String fds = System.getenv("LISTEN_FDS");
        String pid = System.getenv("LISTEN_PID");
        if (fds == null
                || pid == null
                || !pid.equals(String.valueOf(ProcessHandle.current().pid()))) return null;
        if (!fds.equals("1"))
            throw new IOException(
                    "systemd passed " + fds + " sockets (LISTEN_FDS); infoblox-cni-daemon takes exactly one");
        return FileDescriptorCast.unsafeUsing(3).as(AFUNIXServerSocketChannel.class);
    }

    /**
     * systemd set the socket's owner and mode (the .socket unit): a mode that lets every user in is
     * refused, as --socket-mode would be; group access means the group may make CNI requests.
     */
    private PeerPolicy policyOfInherited() throws IOException {
        Map<String, Object> a;
        try {
            a = Files.readAttributes(path, "unix:mode,gid");
        } catch (IOException notThere) {
            LOG.log(
                    System.Logger.Level.WARNING,
                    "cannot examine the socket systemd passed at {0} ({1}): CNI requests from root only",
                    path,
                    notThere.getMessage());
            return new PeerPolicy(false);
        }
        int mode = (Integer) a.get("mode");
        if ((mode & 0002) != 0) { // connecting takes write permission
            server.close();
            throw new IOException("the socket systemd passed (" + path + ") grants every user access (mode "
                    + String.format("%04o", mode & 07777)
                    + "): set SocketMode=0600, or 0660 with a SocketGroup, in infoblox-cni-daemon.socket");
        }
        return new PeerPolicy((mode & 0020) != 0 && (Integer) a.get("gid") != 0);
    }

    private static boolean someoneListens(Path path) {
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            probe.connect(UnixDomainSocketAddress.of(path));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Accepts for as long as the socket is open. A connection over a limit is answered "try again"
     * at once, here, and closed; a failing accept (out of descriptors, say) is retried after a pause
     * that doubles up to a second, and logged once a minute, never in a spin.
     */
    private void acceptLoop() {
        long pauseMillis = 0;
        while (server.isOpen()) {
            SocketChannel channel;
            try {
                channel = server.accept();
                pauseMillis = 0;
            } catch (ClosedChannelException closed) {
                return;
            } catch (IOException | RuntimeException e) {
                if (!server.isOpen()) return;
                pauseMillis = Math.min(MAX_ACCEPT_PAUSE_MILLIS, Math.max(FIRST_ACCEPT_PAUSE_MILLIS, pauseMillis * 2));
                warnings.log(
                        System.Logger.Level.WARNING,
                        "accept",
                        "accept failed: {0}; pausing {1} ms before the next accept",
                        String.valueOf(e.getMessage()),
                        String.valueOf(pauseMillis));
                try {
                    Thread.sleep(pauseMillis);
                } catch (InterruptedException stop) {
                    return;
                }
                continue;
            }
            // Who it is before it counts: a churn of connections from a non-root peer must never
            // take the places root's calls need (ConnectionLimiter.admit).
            PeerPolicy.Peer peer = PeerPolicy.identify(channel);
            ConnectionLimiter.Permit permit = limiter.admit(peer);
            if (permit == null) {
                turnAway(channel, peer);
                continue;
            }
            try {
                connections.submit(() -> serve(channel, permit));
            } catch (RuntimeException shuttingDown) {
                permit.close();
                closeQuietly(channel);
            }
        }
    }

    /** Over a limit: "try again" (code 11), without waiting for anything, and close. */
    private void turnAway(SocketChannel channel, PeerPolicy.Peer peer) {
        String why = limiter.whyFull(peer);
        warnings.log(
                System.Logger.Level.WARNING, "busy " + peer.key(), "turned away a connection from {0}: {1}", peer, why);
        try (channel) {
            channel.configureBlocking(
                    false); // the answer fits the socket's buffer; nothing here may block the acceptor
            drainAvailable(channel); // so that closing does not reset the connection before the client reads the answer
            channel.write(ByteBuffer.wrap(handler.busy(why).toBytes()));
            channel.shutdownOutput();
        } catch (IOException | RuntimeException ignored) {
            // the client is gone, or will see the connection closed: try again either way
        }
    }

    private void serve(SocketChannel channel, ConnectionLimiter.Permit permit) {
        PeerPolicy.Peer peer = permit.peer;
        try (permit;
                channel) {
            Envelope.Request request;
            IoDeadlines.Deadline reading = deadlines.arm(channel, limits().clientIoTimeout());
            try (reading) {
                request = Envelope.Request.read(permit.meter(Channels.newInputStream(channel)));
            } catch (IOException e) {
                if (reading.expired()) {
                    warnings.log(
                            System.Logger.Level.WARNING,
                            "slow " + peer.key(),
                            "closed a connection from {0}: no complete request within {1} (--client-io-timeout)",
                            peer,
                            seconds(limits().clientIoTimeout()));
                    return;
                }
                if (e instanceof Envelope.TruncatedEnvelopeException t && t.endedBeforeFirstByte())
                    return; // a probe: nothing to answer
                if (e instanceof ConnectionLimiter.TooLarge || e instanceof ConnectionLimiter.OverBudget) {
                    warnings.log(
                            System.Logger.Level.WARNING,
                            "memory " + peer.key(),
                            "refused a request from {0}: {1}",
                            peer,
                            e.getMessage());
                    answerAndDrain(
                            channel,
                            e instanceof ConnectionLimiter.TooLarge
                                    ? handler.tooLarge(e.getMessage())
                                    : handler.busy(e.getMessage()),
                            peer);
                    return;
                }
                if (!(e instanceof Envelope.MalformedEnvelopeException)) throw e;
                // Not our plugin, or a broken one: answer if we can, and carry on serving others.
                warnings.log(
                        System.Logger.Level.WARNING,
                        "malformed " + peer.key(),
                        "malformed request from {0} on {1}: {2}",
                        peer,
                        path,
                        LogText.line(e.getMessage()));
                answerAndDrain(channel, handler.malformed(e), peer);
                return;
            }
            Envelope.Response refused = policy.refusal(peer, request);
            if (refused != null) {
                refusals.log(
                        System.Logger.Level.WARNING,
                        peer.key(),
                        "refused a request from {0}: {1}",
                        peer,
                        request.env().containsKey(EnvelopeHandler.ADMIN_ENV)
                                ? "admin requests need root"
                                : "CNI requests need root or --socket-group");
                answer(channel, refused, peer);
                return;
            }
            answer(
                    channel,
                    handler.handle(request, peer),
                    peer); // no client deadline while handling: the grid's timeouts bound it
        } catch (IOException | RuntimeException e) {
            warnings.log(
                    System.Logger.Level.WARNING,
                    "failed " + peer.key(),
                    "connection from {0} failed: {1}",
                    peer,
                    e.toString());
        }
    }

    /** Writes the answer; a client that does not take it within the I/O timeout is dropped. */
    private void answer(SocketChannel channel, Envelope.Response response, PeerPolicy.Peer peer) throws IOException {
        IoDeadlines.Deadline writing = deadlines.arm(channel, limits().clientIoTimeout());
        try (writing) {
            write(channel, response);
        } catch (IOException e) {
            if (!writing.expired()) throw e;
            warnings.log(
                    System.Logger.Level.WARNING,
                    "slow " + peer.key(),
                    "closed a connection from {0}: it did not take its answer within {1} (--client-io-timeout)",
                    peer,
                    seconds(limits().clientIoTimeout()));
        }
    }

    /**
     * The answer to a request the daemon stopped reading (malformed, too large, over the budget),
     * then the rest of what the client sends, read and thrown away until it is done (at most
     * {@link #DRAIN_TIME}, {@link #DRAIN_BYTES}): closing with its bytes unread would reset the
     * connection, and the client would see that (or a broken pipe on its write) instead of the error.
     */
    private void answerAndDrain(SocketChannel channel, Envelope.Response response, PeerPolicy.Peer peer)
            throws IOException {
        answer(channel, response, peer);
        try (IoDeadlines.Deadline draining = deadlines.arm(channel, DRAIN_TIME)) {
            channel.shutdownOutput(); // the answer is complete: the client may read it while it still writes
            ByteBuffer sink = ByteBuffer.allocate(8192);
            long drained = 0;
            while (drained < DRAIN_BYTES && channel.read(sink) >= 0) {
                drained += sink.position();
                sink.clear();
            }
        } catch (IOException closedOrReset) {
            // the client is gone, or the drain deadline closed the channel: it had its chance
        }
    }

    /** Over a connection limit: what the client already sent is read and dropped, without waiting. */
    private static void drainAvailable(SocketChannel nonBlocking) throws IOException {
        ByteBuffer sink = ByteBuffer.allocate(8192);
        long drained = 0;
        int n;
        while (drained < DRAIN_BYTES && (n = nonBlocking.read(sink)) > 0) {
            drained += n;
            sink.clear();
        }
    }

    private SocketLimits limits() {
        return limiter.limits();
    }

    private static String seconds(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
    }

    private static void closeQuietly(SocketChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // nothing more to do
        }
    }

    private static void write(SocketChannel channel, Envelope.Response response) throws IOException {
        OutputStream out = Channels.newOutputStream(channel);
        response.write(out);
        out.flush();
    }

    public Path path() {
        return path;
    }

    /** Connections admitted and not yet closed. */
    public int openConnections() {
        return limiter.open();
    }

    /** Removes the socket file, unless another daemon's has taken its place meanwhile. */
    private void deleteOwnSocketFile() throws IOException {
        try {
            Object there = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
                    .fileKey();
            if (socketFile != null && socketFile.equals(there)) {
                Files.delete(path);
            } else {
                LOG.log(
                        System.Logger.Level.WARNING,
                        "leaving {0} alone: it is no longer the socket this daemon bound",
                        path);
            }
        } catch (NoSuchFileException gone) {
            // removed by someone else already
        }
    }

    @Override
    public void close() {
        try {
            if (server != null) server.close();
            if (acceptor != null) acceptor.join(2000);
            if (ownsSocketFile) deleteOwnSocketFile();
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "closing {0}: {1}", path, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        connections.shutdown();
        deadlines.close();
    }
}
