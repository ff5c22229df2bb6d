package infobloxcni.wapisim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;

/** A tiny WAPI client over the JDK HttpClient for the tests: Basic auth on every call, JSON in and out. */
final class TestClient {
    static final ObjectMapper JSON = new ObjectMapper();

    final HttpClient http;
    final String base;
    final String authorization;

    TestClient(WapiSimulator sim) {
        this(
                sim,
                HttpClient.newBuilder()
                        .version(HttpClient.Version.HTTP_1_1)
                        .connectTimeout(Duration.ofSeconds(5))
                        .build(),
                "admin",
                "infoblox");
    }

    TestClient(WapiSimulator sim, HttpClient http, String user, String password) {
        this.http = http;
        this.base = sim.baseUrl() + "/wapi/v2.5/";
        this.authorization = user == null
                ? null
                : "Basic "
                        + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    record Resp(int status, String body, HttpHeaders headers) {
        JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new UncheckedIOException("not JSON: " + body, e);
            }
        }

        /** The text member of a WAPI error body. */
        String text() {
            return json().path("text").asText();
        }

        String code() {
            return json().path("code").asText();
        }
    }

    static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    Resp get(String path) throws IOException, InterruptedException {
        return send("GET", path, null);
    }

    Resp post(String path, String body) throws IOException, InterruptedException {
        return send("POST", path, body);
    }

    Resp put(String path, String body) throws IOException, InterruptedException {
        return send("PUT", path, body);
    }

    Resp delete(String path) throws IOException, InterruptedException {
        return send("DELETE", path, null);
    }

    Resp send(String method, String path, String body) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(path.startsWith("http") ? path : base + path))
                .timeout(Duration.ofSeconds(10))
                .method(
                        method,
                        body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) b.header("Content-Type", "application/json");
        if (authorization != null) b.header("Authorization", authorization);
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        return new Resp(r.statusCode(), r.body(), r.headers());
    }

    /** POSTs and returns the created ref, failing loudly otherwise. */
    String create(String type, String body) throws IOException, InterruptedException {
        Resp r = post(type, body);
        if (r.status() != 201)
            throw new AssertionError("create " + type + " " + body + " -> " + r.status() + " " + r.body());
        return r.json().asText();
    }
}
