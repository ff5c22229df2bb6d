package infobloxcni.wapi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What the client reads of one answer is bounded: answers used to be read whole into a string and
 * then into a tree, so a 12 MiB answer (a compromised grid, a proxy, a very large search) ended a
 * 64 MiB daemon in a second or two. Too large, too deep or too many tokens fails that one call with
 * a clear error, and the client goes on. The grid here is a plain HTTP server on loopback that
 * streams what each test makes it say.
 */
class WapiAnswerLimitsTest {
    private HttpServer server;
    private WapiClient client;
    private volatile Answer answer;
    private final AtomicLong bytesSent = new AtomicLong();

    /** What the stand-in grid answers: a status, and a body written in pieces (chunked). */
    interface Answer {
        int status();

        void write(OutputStream out) throws IOException;
    }

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/", this::handle);
        server.start();
        client = new WapiClient(
                WapiConfig.of("127.0.0.1", server.getAddress().getPort(), "2.5", "admin", "pw", new SslVerify.System())
                        .withHttps(false)
                        .withTimeouts(Duration.ofSeconds(2), Duration.ofSeconds(10), Duration.ofSeconds(20)));
    }

    @AfterEach
    void stop() {
        client.close();
        server.stop(0);
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            exchange.getRequestBody().readAllBytes();
            Answer a = answer;
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(a.status(), 0); // chunked: no length to go by
            OutputStream counting = new OutputStream() {
                final OutputStream out = exchange.getResponseBody();

                @Override
                public void write(int b) throws IOException {
                    write(new byte[] {(byte) b}, 0, 1);
                }

                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    out.write(b, off, len);
                    bytesSent.addAndGet(len);
                }
            };
            a.write(counting);
        } catch (IOException clientWentAway) {
            // the client stopped reading: what the limit is for
        }
    }

    private static Answer ok(String prefix, String repeated, int times, String suffix) {
        return new Answer() {
            public int status() {
                return 200;
            }

            public void write(OutputStream out) throws IOException {
                out.write(prefix.getBytes(StandardCharsets.UTF_8));
                byte[] piece = repeated.getBytes(StandardCharsets.UTF_8);
                for (int i = 0; i < times; i++) out.write(piece);
                out.write(suffix.getBytes(StandardCharsets.UTF_8));
            }
        };
    }

    private static String view(int i) {
        return "{\"_ref\":\"networkview/ZG5zLm5ldHdvcmtfdmlldyQx:view" + i + "\",\"name\":\"view" + i
                + "\",\"extattrs\":{\"Tenant ID\":{\"value\":\"cluster-1\"},\"CMP Type\":{\"value\":\"Kubernetes\"}}}";
    }

    private WapiException.Transient refused() {
        return assertTimeoutPreemptively(
                Duration.ofSeconds(30),
                () -> assertThrows(WapiException.Transient.class, () -> client.getNetworkView("view1")));
    }

    @Test
    void anAnswerLargerThanTheLimitFailsThatCallOnly() {
        String one = view(1) + ",";
        int times = (12 << 20) / one.length(); // 12 MiB of plausible objects
        answer = ok("[", one, times, view(2) + "]");
        WapiException.Transient e = refused();
        assertTrue(
                e.getMessage().contains("larger than " + WapiConfig.DEFAULT_MAX_ANSWER_BYTES + " bytes")
                        && e.getMessage().contains("--wapi-max-answer-bytes"),
                e.getMessage());
        assertFalse(e.mayHaveBeenApplied(), "a read");
        assertTrue(
                bytesSent.get() < 3L * WapiConfig.DEFAULT_MAX_ANSWER_BYTES,
                bytesSent + " bytes sent before the client stopped");

        answer = ok("[", "", 0, view(1) + "]");
        assertEquals("view1", client.getNetworkView("view1").orElseThrow().name(), "the next call is served");
    }

    @Test
    void anEndlessErrorBodyIsCutAtTheLimit() {
        answer = new Answer() {
            public int status() {
                return 500;
            }

            public void write(OutputStream out) throws IOException {
                byte[] junk = new byte[64 * 1024];
                Arrays.fill(junk, (byte) 'x');
                out.write("{\"Error\":\"".getBytes(StandardCharsets.UTF_8));
                for (int i = 0; i < 80 * 16; i++) out.write(junk); // 80 MiB
                out.write("\"}".getBytes(StandardCharsets.UTF_8));
            }
        };
        WapiException.Transient e = refused();
        assertTrue(e.getMessage().contains("--wapi-max-answer-bytes"), e.getMessage());
        assertTrue(bytesSent.get() < 40L << 20, bytesSent + " bytes sent before the client stopped");
    }

    @Test
    void deepOrTokenHeavyAnswersWithinTheSizeAreRefusedToo() {
        answer = ok("", "[", 300, "]".repeat(300)); // 600 bytes, nested 300 deep
        WapiException.Transient deep = refused();
        assertTrue(deep.getMessage().toLowerCase().contains("nesting depth"), deep.getMessage());

        answer = ok("[0", ",0", 1_500_000, "]"); // 3 MiB, 1.5 million values
        WapiException.Transient tokens = refused();
        assertTrue(tokens.getMessage().toLowerCase().contains("token count"), tokens.getMessage());
    }
}
