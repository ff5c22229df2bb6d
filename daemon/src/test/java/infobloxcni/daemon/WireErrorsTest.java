package infobloxcni.daemon;

import static infobloxcni.daemon.TestHost.netconf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import infobloxcni.wire.CniError;
import infobloxcni.wire.Envelope;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * When the daemon refuses a request before reading all of it (bad magic, too large), the client
 * still gets the error: the daemon answers, then reads and drops the rest. It used to close with
 * the client's bytes unread, which resets the connection, so the client saw ECONNRESET or a
 * broken pipe instead of the error.
 */
class WireErrorsTest extends GridAndDaemonTest {
    private static final String GOOD = netconf("1.0.0", "net1", "\"subnet\":\"10.10.0.0/24\"");

    @Test
    void aClientThatSendsGarbageGetsTheErrorEveryTime() throws Exception {
        byte[] junk = new byte
                [2 * 1024 * 1024]; // more than a socket buffer: the client is still writing when the daemon decides
        Arrays.fill(junk, (byte) 'x');
        int answered = 0;
        StringBuilder failures = new StringBuilder();
        for (int i = 0; i < 20; i++) {
            try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                ch.connect(UnixDomainSocketAddress.of(host.socket()));
                Channels.newOutputStream(ch).write(junk); // all of it, as the plugin writes its request
                ch.shutdownOutput();
                Envelope.Response r = Envelope.Response.read(Channels.newInputStream(ch));
                String json = new String(r.stdout(), StandardCharsets.UTF_8);
                assertTrue(json.contains("\"code\":6") && json.contains("bad magic"), json);
                answered++;
            } catch (IOException e) {
                failures.append(e).append('\n');
            }
        }
        assertEquals(20, answered, "clients that saw no error, only:\n" + failures);
    }

    @Test
    void aRequestOverTheSizeLimitIsAnsweredNotCutOff() {
        String big = GOOD.substring(0, GOOD.length() - 1) + ",\"pad\":\"" + "x".repeat(1_200_000) + "\"}";
        for (int i = 0; i < 5; i++) {
            var refused = host.send(
                    Map.of(
                            "CNI_COMMAND",
                            "ADD",
                            "CNI_CONTAINERID",
                            "c" + i,
                            "CNI_IFNAME",
                            "eth0",
                            "CNI_NETNS",
                            "/var/run/netns/none"),
                    big);
            assertEquals(CniError.DECODE_FAILURE, refused.code(), refused.toString());
            assertTrue(refused.msg().contains("--max-request-bytes"), refused.msg());
        }
        assertTrue(host.call("ADD", "c9", "eth0", GOOD).ok());
    }
}
