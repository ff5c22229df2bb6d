package infobloxcni.daemon;

import static infobloxcni.daemon.TestHost.netconf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import infobloxcni.wire.CniError;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Requests, however many and however large the wire format lets them be, never take the daemon's
 * heap: each is at most --max-request-bytes, and all of them together hold at most a budget taken
 * from the heap. Connections each sending most of a 4 MiB field (inside the envelope's limits) used
 * to kill the daemon with OutOfMemoryError.
 */
class MemoryBudgetTest extends GridAndDaemonTest {
    private static final String GOOD = netconf("1.0.0", "net1", "\"subnet\":\"10.10.0.0/24\"");

    @TempDir
    Path scratch;

    @Test
    void manyLargeRequestsAtOnceLeaveTheDaemonAlive() throws Exception {
        host.stop();
        TestHost small = new TestHost(grid, scratch, "host-m");
        List<SocketChannel> attackers = new ArrayList<>();
        try (DaemonProcess daemon =
                DaemonProcess.start(grid, small, scratch, "", List.of("-Xmx64m", "-XX:+ExitOnOutOfMemoryError"))) {
            daemon.awaitServing(small);
            try {
                // 60 connections, each most of the way through a 1,000,000-byte netconf, then silent
                byte[] partial = envelopePrefix(1_000_000, 990_000);
                for (int i = 0; i < 60 && daemon.alive(); i++) {
                    SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
                    attackers.add(ch);
                    try {
                        ch.connect(UnixDomainSocketAddress.of(small.socket()));
                    } catch (IOException gone) {
                        break; // the daemon is not there any more: said below
                    }
                    ch.configureBlocking(false); // a turned-away connection stops reading: never wait for it
                    ByteBuffer b = ByteBuffer.wrap(partial);
                    try {
                        for (long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
                                b.hasRemaining() && System.nanoTime() < end; ) {
                            if (ch.write(b) == 0) Thread.sleep(1);
                        }
                    } catch (IOException turnedAway) {
                        // answered "busy" and closed: the budget at work
                    }
                }
                Thread.sleep(2000);
                assertTrue(daemon.alive(), "the daemon died under 60 large requests (64 MiB heap):\n" + daemon.log());
                var add = small.call("ADD", "c1", "eth0", GOOD);
                assertTrue(add.ok(), "serving while the large requests are held: " + add + "\n" + daemon.log());
            } finally {
                for (SocketChannel ch : attackers) ch.close();
            }
            assertTrue(daemon.alive());
        }
    }

    @Test
    void aNetconfOfMillionsOfTinyTokensIsRefusedNotParsed() {
        // 900 kB of "0," is 450,000 JSON nodes: far more heap than bytes
        String tokens = GOOD.substring(0, GOOD.length() - 1) + ",\"pad\":[" + "0,".repeat(450_000) + "0]}";
        var answer = host.call("ADD", "c3", "eth0", tokens);
        assertEquals(CniError.DECODE_FAILURE, answer.code(), answer.toString());
        assertTrue(answer.msg().contains("too large"), answer.msg());
    }

    @Test
    void cniArgsWithAMillionPairsIsRefusedNamingTheVariable() {
        Map<String, String> env = new HashMap<>(Map.of(
                "CNI_COMMAND",
                "ADD",
                "CNI_CONTAINERID",
                "c4",
                "CNI_IFNAME",
                "eth0",
                "CNI_NETNS",
                "/var/run/netns/none",
                "CNI_ARGS",
                "a=b;".repeat(200_000)));
        var answer = host.send(env, GOOD);
        assertEquals(CniError.INVALID_ENV, answer.code(), answer.toString());
        assertTrue(answer.msg().contains("CNI_ARGS"), answer.msg());
    }

    /** The first {@code sent} bytes of an ADD whose STDIN field is {@code stdinLength} bytes long. */
    private static byte[] envelopePrefix(int stdinLength, int sent) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(new byte[] {'I', 'B', 'C', 'N', 'I', 1, 0, 2});
        field(out, "CNI_COMMAND", "ADD".getBytes(StandardCharsets.UTF_8));
        out.write(new byte[] {0, 5});
        out.write("STDIN".getBytes(StandardCharsets.US_ASCII));
        out.write(ByteBuffer.allocate(4).putInt(stdinLength).array());
        byte[] head = out.toByteArray();
        byte[] all = new byte[head.length + sent];
        System.arraycopy(head, 0, all, 0, head.length);
        java.util.Arrays.fill(all, head.length, all.length, (byte) ' ');
        return all;
    }

    private static void field(ByteArrayOutputStream out, String name, byte[] value) throws IOException {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        out.write(n.length >> 8);
        out.write(n.length);
        out.write(n);
        out.write(ByteBuffer.allocate(4).putInt(value.length).array());
        out.write(value);
    }
}
