package infobloxcni.wapisim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.CookieManager;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class AuthTest {
    WapiSimulator sim;

    @BeforeEach
    void start() {
        sim = WapiSimulator.builder().credentials("admin", "s3cret pw").build().start();
    }

    @AfterEach
    void stop() {
        sim.close();
    }

    @Test
    void basicAuthIsAcceptedAndSetsAnHttpOnlySessionCookie() throws Exception {
        TestClient c = new TestClient(sim, HttpClient.newHttpClient(), "admin", "s3cret pw");
        TestClient.Resp r = c.get("networkview");
        assertEquals(200, r.status(), r.body());
        String cookie = r.headers().firstValue("Set-Cookie").orElseThrow();
        assertTrue(cookie.matches("ibapauth=[A-Za-z0-9_-]{20,}; httponly; Path=/"), cookie);
        assertEquals("default", r.json().get(0).get("name").asText());
    }

    @Test
    void theCookieAloneAuthenticatesUntilLogout() throws Exception {
        TestClient basic = new TestClient(sim, HttpClient.newHttpClient(), "admin", "s3cret pw");
        String setCookie =
                basic.get("networkview").headers().firstValue("Set-Cookie").orElseThrow();
        String cookie = setCookie.substring(0, setCookie.indexOf(';'));
        HttpClient http = HttpClient.newHttpClient();
        HttpRequest withCookie = HttpRequest.newBuilder(URI.create(basic.base + "networkview"))
                .header("Cookie", cookie)
                .build();
        HttpResponse<String> ok = http.send(withCookie, HttpResponse.BodyHandlers.ofString());
        assertEquals(200, ok.statusCode(), ok.body());
        assertTrue(ok.headers().firstValue("Set-Cookie").isEmpty(), "a valid session gets no new cookie");

        HttpResponse<String> logout = http.send(
                HttpRequest.newBuilder(URI.create(basic.base + "logout"))
                        .header("Cookie", cookie)
                        .POST(HttpRequest.BodyPublishers.noBody())
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, logout.statusCode(), logout.body());
        assertTrue(logout.headers().firstValue("Set-Cookie").orElseThrow().startsWith("ibapauth=;"));

        HttpResponse<String> after = http.send(withCookie, HttpResponse.BodyHandlers.ofString());
        assertEquals(401, after.statusCode());
        assertEquals(1, sim.requestCount("POST", "logout"));
    }

    @Test
    void aCookieManagerClientKeepsItsSessionWithoutSendingCredentialsAgain() throws Exception {
        HttpClient http =
                HttpClient.newBuilder().cookieHandler(new CookieManager()).build();
        TestClient basic = new TestClient(sim, http, "admin", "s3cret pw");
        assertEquals(200, basic.get("networkview").status());
        TestClient cookieOnly = new TestClient(sim, http, null, null);
        assertEquals(200, cookieOnly.get("network").status());
    }

    @Test
    void missingOrWrongCredentialsAnswer401WithTheWebServersHtmlPage() throws Exception {
        TestClient none = new TestClient(sim, HttpClient.newHttpClient(), null, null);
        TestClient.Resp r = none.get("networkview");
        assertEquals(401, r.status());
        assertTrue(
                r.body().contains("<title>401 Authorization Required</title>"),
                "a grid's 401 is HTML, not WAPI JSON: " + r.body());
        assertTrue(r.headers().firstValue("WWW-Authenticate").orElseThrow().startsWith("Basic realm="));

        TestClient wrong = new TestClient(sim, HttpClient.newHttpClient(), "admin", "infoblox");
        assertEquals(401, wrong.get("networkview").status());
        TestClient wrongUser = new TestClient(sim, HttpClient.newHttpClient(), "root", "s3cret pw");
        assertEquals(401, wrongUser.get("networkview").status());
        TestClient.Resp post = wrong.post("networkview", "{\"name\":\"x\"}");
        assertEquals(401, post.status());
        assertTrue(
                sim.objects("networkview").stream().noneMatch(v -> v.get("name").equals("x")));
    }

    @Test
    void aBogusCookieIsRejectedAndThePasswordNeverReachesTheLog() throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient()
                .send(
                        HttpRequest.newBuilder(URI.create(sim.baseUrl() + "/wapi/v2.5/network"))
                                .header("Cookie", "ibapauth=forged")
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        assertEquals(401, r.statusCode());
        new TestClient(sim, HttpClient.newHttpClient(), "admin", "s3cret pw").get("network");
        List<String> log = sim.requestLog();
        assertEquals(2, log.size(), log.toString());
        assertFalse(log.toString().contains("s3cret"), log.toString());
    }

    @Test
    void sessionsExpireAfterTheSessionTimeout() throws Exception {
        try (WapiSimulator shortLived = WapiSimulator.builder()
                .sessionTimeout(java.time.Duration.ofMillis(50))
                .build()
                .start()) {
            TestClient basic = new TestClient(shortLived);
            String setCookie =
                    basic.get("networkview").headers().firstValue("Set-Cookie").orElseThrow();
            Thread.sleep(120);
            HttpResponse<String> r = HttpClient.newHttpClient()
                    .send(
                            HttpRequest.newBuilder(URI.create(basic.base + "network"))
                                    .header("Cookie", setCookie.substring(0, setCookie.indexOf(';')))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString());
            assertEquals(401, r.statusCode());
        }
    }
}
