package infobloxcni.daemon.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** /healthz with no request path behind it (the daemon's socket is not there): 503, never a landing page. */
class HealthHandlerTest {
    @TempDir
    Path dir;

    private static HttpResponse<String> send(HttpServer server, String method, String path) throws Exception {
        return HttpClient.newHttpClient()
                .send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                                        + server.getAddress().getPort() + path))
                                .method(method, HttpRequest.BodyPublishers.noBody())
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void aRequestPathThatDoesNotAnswerIs503AndOtherPathsAndMethodsAreRefused() throws Exception {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 8);
        server.createContext("/healthz", new HealthHandler(dir.resolve("no-daemon.sock")));
        server.start();
        try {
            HttpResponse<String> down = send(server, "GET", "/healthz");
            assertEquals(503, down.statusCode());
            assertTrue(down.body().startsWith("the request path did not answer"), down.body());
            assertEquals(405, send(server, "POST", "/healthz").statusCode());
            assertEquals(404, send(server, "GET", "/healthz/more").statusCode());
        } finally {
            server.stop(0);
        }
    }
}
