package infobloxcni.daemon.observe;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;

/**
 * {@code /healthz} beside {@code /metrics}: 200 only while the request path answers, checked as
 * the systemd watchdog checks it (one VERSION through the daemon's own socket, the same accept
 * loop and handler a plugin's ADD takes: {@link SystemdNotifier#requestPathAlive}), else 503. It
 * says nothing of the grid: a daemon whose grid is down still answers (from its pool, or with
 * code 11), and restarting it would not bring the grid back; the grid's state is a metric.
 */
final class HealthHandler implements HttpHandler {
    /** A self-check slower than this is a request path that does not answer. */
    static final Duration LIMIT = Duration.ofSeconds(2);

    private final Path socket;

    HealthHandler(Path socket) {
        this.socket = socket;
    }

    @Override
    public void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            String method = exchange.getRequestMethod();
            if (!exchange.getRequestURI().getPath().equals("/healthz")) {
                answer(exchange, 404, "not found\n");
            } else if (!method.equals("GET") && !method.equals("HEAD")) {
                exchange.getResponseHeaders().set("Allow", "GET, HEAD");
                answer(exchange, 405, "GET or HEAD\n");
            } else if (SystemdNotifier.requestPathAlive(socket, LIMIT)) {
                answer(exchange, 200, "ok\n");
            } else {
                answer(exchange, 503, "the request path did not answer within " + LIMIT.toSeconds() + " s\n");
            }
        }
    }

    private static void answer(HttpExchange exchange, int status, String text) throws IOException {
        byte[] body = text.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
        boolean head = exchange.getRequestMethod().equals("HEAD");
        exchange.sendResponseHeaders(status, head ? -1 : body.length);
        if (!head) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        }
    }
}
