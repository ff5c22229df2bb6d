package infobloxcni.daemon.server;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.HashMap;
import java.util.Map;

/**
 * Admission to the daemon's socket: how many connections are open (all peers, one non-root peer,
 * all non-root peers together), and how many request bytes they hold in buffers. Root (and the
 * daemon's own uid) may use every slot and the whole budget; all other peers together at most half
 * of each, one such peer at most {@link SocketLimits#maxPeerConnections()} connections, so that a
 * flood from an unprivileged peer never locks out the runtime's calls. Who the peer is is known
 * before its connection counts ({@link #admit}, at accept). A connection over a limit is answered
 * "try again" rather than queued.
 *
 * <p>The first {@value #FREE_BYTES} bytes of each request are not counted against the budget: a
 * runtime's netconf is a few kilobytes, so large requests held open never make small ones wait;
 * the connection cap bounds what those cost together.
 */
final class ConnectionLimiter {
    static final int FREE_BYTES = 16 * 1024;

    /** The connection went over the buffer budget while its request was arriving. */
    static final class OverBudget extends IOException {
        OverBudget(String message) {
            super(message);
        }
    }

    /** The request is larger than {@link SocketLimits#maxRequestBytes()}. */
    static final class TooLarge extends IOException {
        TooLarge(String message) {
            super(message);
        }
    }

    private final SocketLimits limits;
    // guarded by this
    private int open;
    private int openUnprivileged;
    private long buffered;
    private long bufferedUnprivileged;
    private final Map<String, Integer> perPeer = new HashMap<>();

    ConnectionLimiter(SocketLimits limits) {
        this.limits = limits;
    }

    SocketLimits limits() {
        return limits;
    }

    /**
     * At accept, knowing the peer (its credentials are read before it is counted): its permit, or
     * null when it would go over a limit. A connection is never counted before its peer is known,
     * so connections of non-root peers, however many they open and close, never hold more than
     * their half of the places, and root always finds the other half.
     */
    synchronized Permit admit(PeerPolicy.Peer peer) {
        if (open >= limits.maxConnections()) return null;
        if (!peer.privileged()) {
            if (openUnprivileged >= limits.maxConnections() / 2
                    || perPeer.getOrDefault(peer.key(), 0) >= limits.maxPeerConnections()) return null;
            openUnprivileged++;
            perPeer.merge(peer.key(), 1, Integer::sum);
        }
        open++;
        return new Permit(peer);
    }

    /** Why {@code peer} was not admitted, for its answer and the log. */
    synchronized String whyFull(PeerPolicy.Peer peer) {
        if (open >= limits.maxConnections()) {
            return open + " connections are open, the most it takes (--max-connections " + limits.maxConnections()
                    + ")";
        }
        if (openUnprivileged >= limits.maxConnections() / 2)
            return openUnprivileged + " connections of non-root peers are open, the most they may have together";
        return peer + " has " + perPeer.getOrDefault(peer.key(), 0)
                + " connections open, the most one non-root peer may have (--max-peer-connections "
                + limits.maxPeerConnections() + ")";
    }

    synchronized int open() {
        return open;
    }

    synchronized long buffered() {
        return buffered;
    }

    private synchronized boolean take(Permit permit, long bytes) {
        long all = limits.maxBufferedBytes();
        if (buffered + bytes > all) return false;
        if (!permit.peer.privileged()) {
            if (bufferedUnprivileged + bytes > all / 2) return false;
            bufferedUnprivileged += bytes;
        }
        buffered += bytes;
        return true;
    }

    private synchronized void release(Permit permit) {
        open--;
        buffered -= permit.held;
        if (!permit.peer.privileged()) {
            openUnprivileged--;
            bufferedUnprivileged -= permit.held;
            perPeer.computeIfPresent(permit.peer.key(), (k, n) -> n == 1 ? null : n - 1);
        }
    }

    /** One admitted connection: releases its slot and its bytes when closed (once). */
    final class Permit implements AutoCloseable {
        final PeerPolicy.Peer peer;
        private long held; // guarded by ConnectionLimiter.this
        private boolean closed;

        private Permit(PeerPolicy.Peer peer) {
            this.peer = peer;
        }

        /**
         * {@code in}, counting what is read against this connection's request limit and the
         * shared budget: reading past either throws ({@link TooLarge}, {@link OverBudget}).
         */
        InputStream meter(InputStream in) {
            return new FilterInputStream(in) {
                private long total;

                @Override
                public int read() throws IOException {
                    byte[] one = new byte[1];
                    int n = read(one, 0, 1);
                    return n <= 0 ? -1 : one[0] & 0xff;
                }

                @Override
                public int read(byte[] b, int off, int len) throws IOException {
                    long room = limits.maxRequestBytes()
                            + 1L
                            - total; // one byte more tells "too large" from "exactly the limit"
                    int n = super.read(b, off, (int) Math.min(len, Math.max(1, room)));
                    if (n <= 0) return n;
                    long counted = Math.max(0, total + n - FREE_BYTES) - Math.max(0, total - FREE_BYTES);
                    total += n;
                    if (total > limits.maxRequestBytes()) {
                        throw new TooLarge("the request is larger than " + limits.maxRequestBytes()
                                + " bytes, the most the daemon takes (--max-request-bytes)");
                    }
                    if (counted > 0) {
                        synchronized (ConnectionLimiter.this) {
                            if (!take(Permit.this, counted)) {
                                throw new OverBudget(
                                        "large requests being received already hold " + buffered + " of the "
                                                + limits.maxBufferedBytes() + " bytes the daemon buffers for them");
                            }
                            held += counted;
                        }
                    }
                    return n;
                }

                @Override
                public long skip(long n) throws IOException {
                    return read(new byte[(int) Math.min(n, 8192)], 0, (int) Math.min(n, 8192));
                }
            };
        }

        @Override
        public void close() {
            synchronized (ConnectionLimiter.this) {
                if (closed) return;
                closed = true;
                release(this);
            }
        }
    }
}
