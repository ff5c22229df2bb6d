package infobloxcni.daemon;

import static infobloxcni.daemon.TestHost.netconf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import infobloxcni.daemon.observe.LogLevels;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

/**
 * What a client sends ends up in the daemon's log (the journal, under systemd) and in its error
 * messages. It must never be able to start a log line of its own, hide text with terminal or
 * bidirectional control characters, or make the daemon write megabytes per request.
 */
class LogInjectionTest extends GridAndDaemonTest {
    private static final String GOOD = netconf("1.0.0", "net1", "\"subnet\":\"10.10.0.0/24\"");
    private static final String FORGED =
            "2030-01-01T00:00:00.000Z INFO infobloxcni.daemon.RequestHandler: DEL victim/eth0 ok in 1 ms";

    @Test
    void clientValuesCannotForgeHideOrFloodLogLines() throws Exception {
        Logger root = Logger.getLogger("");
        Handler[] savedHandlers = root.getHandlers();
        Level savedLevel = root.getLevel();
        List<LogRecord> records = Collections.synchronizedList(new ArrayList<>());
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord r) {
                records.add(r);
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        try {
            LogLevels.configure(Level.INFO); // the daemon's own handler and format
            Formatter daemonFormat = root.getHandlers()[0].getFormatter();
            root.addHandler(capture);

            var forgedId = host.send(env("ADD", "c1\n" + FORGED, "eth0"), GOOD);
            assertEquals(4, forgedId.code(), forgedId.toString());
            var forgedCommand = host.send(env("ADD\r\u001b[2K" + FORGED, "c1", "eth0"), GOOD);
            assertEquals(4, forgedCommand.code(), forgedCommand.toString());
            // an interface name the kernel allows, with a right-to-left override that would reorder the line
            host.send(env("DEL", "c2", "e\u202e0hte"), GOOD);
            var huge = host.send(env("ADD", "x".repeat(1_000_000) + "/", "eth0"), GOOD);
            assertEquals(4, huge.code(), huge.toString());
            assertTrue(
                    huge.msg().length() < 1_000,
                    "the error quotes a 1 MB value in full: " + huge.msg().length() + " characters");
            assertTrue(huge.msg().contains("CNI_CONTAINERID"), huge.msg());
            rawEnvelopeWithDuplicateField("CNI_X\n" + FORGED);

            assertTrue(records.size() >= 5, "the daemon logged the requests: " + records.size());
            boolean sawEscapedForgery = false;
            for (LogRecord r : records) {
                String line = daemonFormat.format(r);
                assertEquals(line.length() - 1, line.indexOf('\n'), "one record, one line: " + line);
                for (char bad : new char[] {'\r', '\u001b', '\u202e', '\u0085', '\u2028'}) {
                    assertTrue(
                            line.indexOf(bad) < 0, "control character U+" + Integer.toHexString(bad) + " in: " + line);
                }
                assertTrue(line.length() < 20_000, "a log line of " + line.length() + " characters");
                sawEscapedForgery |= line.contains("\\n" + FORGED) || line.contains("\\r\\u001b[2K" + FORGED);
            }
            assertTrue(sawEscapedForgery, "the hostile text is still shown, escaped: " + records.size() + " records");
        } finally {
            for (Handler h : root.getHandlers()) root.removeHandler(h);
            for (Handler h : savedHandlers) root.addHandler(h);
            root.setLevel(savedLevel);
        }
    }

    private static Map<String, String> env(String command, String containerId, String ifName) {
        Map<String, String> env = new HashMap<>();
        env.put("CNI_COMMAND", command);
        env.put("CNI_CONTAINERID", containerId);
        env.put("CNI_IFNAME", ifName);
        env.put("CNI_NETNS", "/var/run/netns/does-not-exist");
        return env;
    }

    /** An envelope the codec refuses ("field ... twice"), whose field name carries a line break. */
    private void rawEnvelopeWithDuplicateField(String name) throws IOException {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(new byte[] {'I', 'B', 'C', 'N', 'I', 1, 0, 3});
        for (int i = 0; i < 2; i++) {
            out.write(n.length >> 8);
            out.write(n.length);
            out.write(new byte[] {0, 0, 0, 1, 'v'});
        }
        out.write(new byte[] {0, 5, 'S', 'T', 'D', 'I', 'N', 0, 0, 0, 0});
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(host.socket()));
            ch.write(ByteBuffer.wrap(out.toByteArray()));
            ch.shutdownOutput();
            ByteBuffer answer = ByteBuffer.allocate(4096);
            while (ch.read(answer) > 0) {
                /* until the daemon closes */
            }
            assertTrue(answer.position() > 0, "the daemon answers a malformed envelope");
        }
    }
}
