package infobloxcni.daemon.server;

import java.time.Duration;

/**
 * What one client, and all of them together, may hold of the daemon: connections, time and
 * buffered request bytes. The defaults (docs/security.md says why each) are far above what a
 * runtime needs and low enough that a flood cannot exhaust the daemon's descriptors, threads or
 * heap:
 *
 * @param maxConnections     connections open at once, all peers together (256: a node starting all
 *                           of its pods at once; beyond it clients are told to try again)
 * @param maxPeerConnections connections open at once from one peer that is not root (32); all such
 *                           peers together get at most half of {@code maxConnections} and half of
 *                           the buffer budget, so that a flood from one cannot lock root's calls out
 * @param clientIoTimeout    a client must have sent its whole request within this after connecting,
 *                           and have taken the answer within this once it is ready (10 s; the plugin
 *                           sends and reads at once)
 * @param maxRequestBytes    largest request envelope (1 MiB: a GC's valid-attachments for some ten
 *                           thousand attachments; the wire format itself allows 8 MiB)
 * @param maxBufferedBytes   request bytes all connections may hold at once ({@link #bufferBudget})
 */
public record SocketLimits(
        int maxConnections,
        int maxPeerConnections,
        Duration clientIoTimeout,
        int maxRequestBytes,
        long maxBufferedBytes) {
    public static final int DEFAULT_MAX_CONNECTIONS = 256;
    public static final int DEFAULT_MAX_PEER_CONNECTIONS = 32;
    public static final int DEFAULT_CLIENT_IO_TIMEOUT_SECONDS = 10;
    public static final Duration DEFAULT_CLIENT_IO_TIMEOUT = Duration.ofSeconds(DEFAULT_CLIENT_IO_TIMEOUT_SECONDS);
    public static final int DEFAULT_MAX_REQUEST_BYTES = 1 << 20;

    public SocketLimits {
        if (maxConnections < 2)
            throw new IllegalArgumentException("--max-connections must be at least 2, got " + maxConnections);
        if (maxPeerConnections < 1 || maxPeerConnections > maxConnections) {
            throw new IllegalArgumentException(
                    "--max-peer-connections must be 1.." + maxConnections + ", got " + maxPeerConnections);
        }
        if (clientIoTimeout == null
                || clientIoTimeout.isNegative()
                || clientIoTimeout.isZero()
                || clientIoTimeout.compareTo(Duration.ofMinutes(10)) > 0) {
            throw new IllegalArgumentException(
                    "--client-io-timeout must be more than 0 and at most 10m, got " + clientIoTimeout);
        }
        if (maxRequestBytes < 64 * 1024 || maxRequestBytes > infobloxcni.wire.Envelope.MAX_TOTAL_BYTES) {
            throw new IllegalArgumentException("--max-request-bytes must be 65536.."
                    + infobloxcni.wire.Envelope.MAX_TOTAL_BYTES + ", got " + maxRequestBytes);
        }
        if (maxBufferedBytes < 2L * maxRequestBytes)
            maxBufferedBytes = 2L * maxRequestBytes; // one request of each kind of peer always fits
    }

    /** The defaults, with the buffer budget taken from this JVM's heap. */
    public static SocketLimits defaults() {
        return new SocketLimits(
                DEFAULT_MAX_CONNECTIONS,
                DEFAULT_MAX_PEER_CONNECTIONS,
                DEFAULT_CLIENT_IO_TIMEOUT,
                DEFAULT_MAX_REQUEST_BYTES,
                bufferBudget(Runtime.getRuntime().maxMemory(), DEFAULT_MAX_REQUEST_BYTES));
    }

    /**
     * A thirty-second of the heap, at least four largest requests and at most 64 MiB. Parsing a
     * request costs several times its size (strings, the JSON tree, bounded by the netconf's
     * token limit), so the heap stays far from full even when every byte of the budget is hostile.
     */
    public static long bufferBudget(long maxHeap, int maxRequestBytes) {
        return Math.min(64L << 20, Math.max(4L * maxRequestBytes, maxHeap / 32));
    }
}
