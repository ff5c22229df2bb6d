package infobloxcni.daemon;

import infobloxcni.plugin.Envelope;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
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
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Function;
import org.newsclub.net.unix.AFUNIXServerSocketChannel;
import org.newsclub.net.unix.FileDescriptorCast;

/**
 * The Unix socket the plugin talks to. One virtual thread per connection, so slow grid calls for
 * one container never hold up another. The socket file is owner-only unless configured.
 */
final class SocketServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(SocketServer.class.getName());

    private final Path path;
    private final Set<PosixFilePermission> permissions;
    private final String group;
    private final Function<Envelope.Request, Envelope.Response> handler;
    private final ExecutorService connections = Executors.newVirtualThreadPerTaskExecutor();
    private ServerSocketChannel server;
    private boolean ownsSocketFile;
    /** The inode bound at start: on close, the path is removed only if it still is that one. */
    private Object socketFile;
    private static final SecureRandom RANDOM = new SecureRandom();
    private Thread acceptor;
    private PeerPolicy policy = new PeerPolicy(false);
    private final RateLimitedLog refusals = new RateLimitedLog(LOG, java.time.Duration.ofMinutes(1));

    SocketServer(Path path, Set<PosixFilePermission> permissions, String group, Function<Envelope.Request, Envelope.Response> handler) {
        this.path = path;
        this.permissions = permissions;
        this.group = group;
        this.handler = handler;
    }

    /**
     * Takes the socket systemd passed (socket activation), or binds one; refuses when another
     * daemon already serves the path.
     */
    void start() throws IOException {
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
                GroupPrincipal principal = path.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByGroupName(group);
                view.setGroup(principal);
            }
            Files.move(staged, path, StandardCopyOption.ATOMIC_MOVE);
            socketFile = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
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
            throw new IOException("refusing to replace " + path + ": it is " + (there.isSymbolicLink() ? "a symbolic link"
                    : there.isDirectory() ? "a directory" : "a regular file") + ", not a stale socket; remove it yourself if it may go");
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
                return Files.createDirectory(staging, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
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
        if (fds == null || pid == null || !pid.equals(String.valueOf(ProcessHandle.current().pid()))) return null;
        if (!fds.equals("1")) throw new IOException("systemd passed " + fds + " sockets (LISTEN_FDS); infoblox-cni-daemon takes exactly one");
        return FileDescriptorCast.unsafeUsing(3).as(AFUNIXServerSocketChannel.class);
    }

    /**
     * systemd set the socket's owner and mode (the .socket unit): a mode that lets every user in is
     * refused, as --socket-mode would be; group access means the group may make CNI requests.
     */
    private PeerPolicy policyOfInherited() throws IOException {
        java.util.Map<String, Object> a;
        try {
            a = Files.readAttributes(path, "unix:mode,gid");
        } catch (IOException notThere) {
            LOG.log(System.Logger.Level.WARNING, "cannot examine the socket systemd passed at {0} ({1}): CNI requests from root only",
                    path, notThere.getMessage());
            return new PeerPolicy(false);
        }
        int mode = (Integer) a.get("mode");
        if ((mode & 0002) != 0) { // connecting takes write permission
            server.close();
            throw new IOException("the socket systemd passed (" + path + ") grants every user access (mode "
                    + String.format("%04o", mode & 07777) + "): set SocketMode=0600, or 0660 with a SocketGroup, in infoblox-cni-daemon.socket");
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

    private void acceptLoop() {
        while (server.isOpen()) {
            try {
                SocketChannel channel = server.accept();
                connections.submit(() -> serve(channel));
            } catch (ClosedChannelException closed) {
                return;
            } catch (IOException | RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "accept failed: {0}", e.getMessage());
            }
        }
    }

    private void serve(SocketChannel channel) {
        try (channel) {
            PeerPolicy.Peer peer = PeerPolicy.identify(channel);
            InputStream in = Channels.newInputStream(channel);
            Envelope.Request request;
            try {
                request = Envelope.Request.read(in);
            } catch (Envelope.MalformedEnvelopeException e) {
                // Not our plugin, or a broken one: answer if we can, and carry on serving others.
                LOG.log(System.Logger.Level.WARNING, "malformed request on {0}: {1}", path, LogText.line(e.getMessage()));
                write(channel, RequestHandler.malformedEnvelope(e));
                return;
            }
            Envelope.Response refused = policy.refusal(peer, request);
            if (refused != null) {
                refusals.log(System.Logger.Level.WARNING, peer.key(), "refused a request from {0}: {1}", peer,
                        request.env().containsKey(AdminCommands.ENV) ? "admin requests need root" : "CNI requests need root or --socket-group");
                write(channel, refused);
                return;
            }
            write(channel, handler.apply(request));
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "connection failed: {0}", e.toString());
        }
    }

    private static void write(SocketChannel channel, Envelope.Response response) throws IOException {
        OutputStream out = Channels.newOutputStream(channel);
        response.write(out);
        out.flush();
    }

    Path path() { return path; }

    /** Removes the socket file, unless another daemon's has taken its place meanwhile. */
    private void deleteOwnSocketFile() throws IOException {
        try {
            Object there = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
            if (socketFile != null && socketFile.equals(there)) {
                Files.delete(path);
            } else {
                LOG.log(System.Logger.Level.WARNING, "leaving {0} alone: it is no longer the socket this daemon bound", path);
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
    }
}
