package infobloxcni.wapi;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.absent;
import static com.github.tomakehurst.wiremock.client.WireMock.any;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.client.ResponseDefinitionBuilder;
import com.github.tomakehurst.wiremock.http.Fault;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a simulator should not fake: broken transports and odd answers. Each one must surface as
 * the right typed error, and a write must never be sent twice on its own.
 */
class WapiClientFailureTest {
    private static final String SECRET = "s3cret-Passw0rd";
    private WireMockServer wire;
    private WapiClient client;

    @BeforeEach
    void start() {
        wire = new WireMockServer(options().dynamicPort().bindAddress("127.0.0.1"));
        wire.start();
        client = clientFor(wire.port(), Duration.ofMillis(500), Duration.ofSeconds(2));
    }

    @AfterEach
    void stop() {
        client.close();
        wire.stop();
    }

    private static WapiClient clientFor(int port, Duration read, Duration call) {
        return new WapiClient(WapiConfig.of("127.0.0.1", port, "2.5", "admin", SECRET, new SslVerify.System())
                .withHttps(false)
                .withTimeouts(Duration.ofMillis(500), read, call));
    }

    private static FixedAddressSpec spec() {
        return new FixedAddressSpec("aa:bb:cc:dd:ee:ff", "pod", null, null, Map.of("VM ID", "c1"));
    }

    private WapiException.Transient postAndExpectTransient() {
        return assertThrows(
                WapiException.Transient.class, () -> client.reserveNextAvailableIp("default", "10.0.0.0/24", spec()));
    }

    /** WireMock logs a request whose connection it reset a moment after the client saw the reset. */
    private int postsSeen() {
        long deadline = System.nanoTime() + 2_000_000_000L;
        while (wire.findAll(postRequestedFor(anyUrl())).isEmpty() && System.nanoTime() < deadline) Thread.onSpinWait();
        try {
            Thread.sleep(300); // long enough for a re-send, if the client made one, to show up
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return wire.findAll(postRequestedFor(anyUrl())).size();
    }

    private static ResponseDefinitionBuilder upstreamBusy() {
        return aResponse()
                .withStatus(502)
                .withBody("{\"Error\":\"x\",\"code\":\"Server.Busy\",\"text\":\"upstream busy\"}");
    }

    @Test
    void unauthorizedIsAnAuthenticationFailureThatNeverShowsThePassword() {
        wire.stubFor(
                any(anyUrl()).willReturn(aResponse().withStatus(401).withBody("<html>Authorization Required</html>")));
        WapiException e = assertThrows(WapiException.AuthenticationFailed.class, client::probe);
        assertEquals(401, e.httpStatus());
        assertFalse(e.getMessage().contains(SECRET));
        assertFalse(client.config().toString().contains(SECRET));
        assertTrue(client.config().toString().contains("<redacted>"));
    }

    @Test
    void aServerErrorOnAReadIsRetriedWithBackoffThenTransient() {
        wire.stubFor(get(anyUrl()).willReturn(upstreamBusy()));
        var e = assertThrows(WapiException.Transient.class, () -> client.getNetworkView("default"));
        assertFalse(e.mayHaveBeenApplied());
        assertEquals("upstream busy", e.gridText());
        assertEquals(3, wire.findAll(getRequestedFor(anyUrl())).size(), "a read is tried three times in all");
    }

    @Test
    void aReadIsNotRetriedWithoutTimeForTheBackoffLeftInTheDeadline() {
        wire.stubFor(get(anyUrl()).willReturn(upstreamBusy()));
        // (on a machine so loaded that the 502 comes after 250 ms, the call times out: not repeated either)
        assertThrows(
                WapiException.Transient.class,
                () -> Deadline.within(Duration.ofMillis(250), () -> client.getNetworkView("default")));
        assertEquals(
                1,
                wire.findAll(getRequestedFor(anyUrl())).size(),
                "a retry needs more than 300 ms of the deadline left");
    }

    @Test
    void aServerErrorOnAWriteIsNeverRepeated() {
        wire.stubFor(post(anyUrl()).willReturn(upstreamBusy()));
        var e = assertThrows(
                WapiException.Transient.class, () -> client.reserveNextAvailableIp("default", "10.0.0.0/24", spec()));
        assertTrue(e.mayHaveBeenApplied(), "a 502 after a POST: the grid may have committed it");
        assertEquals(1, wire.findAll(postRequestedFor(anyUrl())).size());
    }

    /**
     * Issue 15: a 503 was taken for "not applied", but a grid behind a load balancer, or under
     * load, answers 502, 503 or 504 after it committed. Any 5xx after sending may have been
     * applied; only a 4xx (429 and 408 included) is a refusal before the work.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(ints = {500, 502, 503, 504, 429, 408})
    void anyServerErrorAfterAWriteMayHaveBeenAppliedAndAFourHundredWasNot(int status) {
        wire.resetAll();
        wire.stubFor(post(anyUrl())
                .willReturn(aResponse()
                        .withStatus(status)
                        .withBody("{\"Error\":\"x\",\"code\":\"Server.Busy\",\"text\":\"busy\"}")));
        var e = postAndExpectTransient();
        assertEquals(status >= 500, e.mayHaveBeenApplied(), status + ": " + e.getMessage());
        assertEquals(1, wire.findAll(postRequestedFor(anyUrl())).size(), "never re-sent");
    }

    @Test
    void serverErrorOnWriteMayHaveBeenAppliedAndIsNotResent() {
        wire.stubFor(
                post(anyUrl())
                        .willReturn(
                                aResponse()
                                        .withStatus(500)
                                        .withBody(
                                                "{\"Error\":\"AdmConError\",\"code\":\"Server.Internal\",\"text\":\"internal error\"}")));
        var e = postAndExpectTransient();
        assertTrue(e.mayHaveBeenApplied());
        assertEquals(1, wire.findAll(postRequestedFor(anyUrl())).size());
    }

    @Test
    void slowAnswerHitsTheReadTimeoutAndIsNotResent() {
        wire.stubFor(post(anyUrl())
                .willReturn(aResponse().withStatus(201).withFixedDelay(1500).withBody("{}")));
        long started = System.nanoTime();
        var e = postAndExpectTransient();
        long ms = (System.nanoTime() - started) / 1_000_000;
        assertTrue(e.mayHaveBeenApplied(), e.getMessage());
        assertTrue(e.getMessage().contains("no answer in time"), e.getMessage());
        assertTrue(ms < 1400, "read timeout of 500 ms must cut the call short, took " + ms);
        assertEquals(1, wire.findAll(postRequestedFor(anyUrl())).size());
    }

    @Test
    void wholeCallTimeoutBoundsASlowReadToo() {
        client.close();
        client = clientFor(wire.port(), Duration.ofSeconds(10), Duration.ofMillis(700));
        wire.stubFor(get(anyUrl())
                .willReturn(aResponse().withStatus(200).withFixedDelay(3000).withBody("[]")));
        long started = System.nanoTime();
        var e = assertThrows(WapiException.Transient.class, () -> client.getNetworkView("v"));
        long ms = (System.nanoTime() - started) / 1_000_000;
        assertFalse(e.mayHaveBeenApplied());
        assertTrue(ms < 2500, "call timeout of 700 ms must end the call, took " + ms);
    }

    @Test
    void connectionResetAfterSendingAWriteMayHaveBeenApplied() {
        wire.stubFor(post(anyUrl()).willReturn(aResponse().withFault(Fault.CONNECTION_RESET_BY_PEER)));
        var e = postAndExpectTransient();
        assertTrue(e.mayHaveBeenApplied());
        assertEquals(1, postsSeen(), "a lost response must never be re-sent");
    }

    @Test
    void emptyResponseIsALostResponse() {
        wire.stubFor(post(anyUrl()).willReturn(aResponse().withFault(Fault.EMPTY_RESPONSE)));
        assertTrue(postAndExpectTransient().mayHaveBeenApplied());
        assertEquals(1, postsSeen());
    }

    @Test
    void garbageThenCloseOnReadIsTransient() {
        wire.stubFor(get(anyUrl()).willReturn(aResponse().withFault(Fault.RANDOM_DATA_THEN_CLOSE)));
        var e = assertThrows(WapiException.Transient.class, () -> client.getNetworkView("v"));
        assertFalse(e.mayHaveBeenApplied());
    }

    @Test
    void malformedBodiesAreTransientErrors() {
        wire.stubFor(get(anyUrl()).willReturn(aResponse().withStatus(200).withBody("{not json")));
        var read = assertThrows(WapiException.Transient.class, () -> client.getNetworkView("v"));
        assertTrue(read.getMessage().contains("malformed"), read.getMessage());
        assertFalse(read.mayHaveBeenApplied());

        wire.stubFor(get(anyUrl()).willReturn(aResponse().withStatus(200).withBody("{\"result\": 1}")));
        assertThrows(WapiException.Transient.class, () -> client.getNetworkView("v"));

        wire.stubFor(post(anyUrl())
                .willReturn(aResponse().withStatus(201).withBody("\"fixedaddress/abc:10.0.0.2/default\"")));
        var write = postAndExpectTransient();
        assertTrue(write.mayHaveBeenApplied(), "a write that answered 201 happened, whatever the body");
    }

    @Test
    void connectionRefusedCertainlyDidNotReachTheGrid() throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        try (WapiClient refused = clientFor(closedPort, Duration.ofSeconds(1), Duration.ofSeconds(2))) {
            var e = assertThrows(
                    WapiException.Transient.class,
                    () -> refused.reserveNextAvailableIp("default", "10.0.0.0/24", spec()));
            assertFalse(e.mayHaveBeenApplied(), e.getMessage());
            assertEquals(0, e.httpStatus());
        }
    }

    @Test
    void gridRefusalsMapToTheirTypesAndKeepTheGridText() {
        wire.stubFor(
                post(anyUrl())
                        .willReturn(
                                aResponse()
                                        .withStatus(400)
                                        .withBody(
                                                "{\"Error\":\"AdmConDataError: None (IBDataError: IB.Data:Cannot find 1 available IP address(es) in this network)\","
                                                        + "\"code\":\"Client.Ibap.Data\",\"text\":\"Cannot find 1 available IP address(es) in this network\"}")));
        var full = assertThrows(
                WapiException.NetworkFull.class, () -> client.reserveNextAvailableIp("default", "10.0.0.0/24", spec()));
        assertEquals("Cannot find 1 available IP address(es) in this network", full.gridText());

        wire.stubFor(
                post(anyUrl())
                        .willReturn(
                                aResponse()
                                        .withStatus(400)
                                        .withBody(
                                                "{\"Error\":\"AdmConDataError\",\"code\":\"Client.Ibap.Data.Conflict\",\"text\":\"The network view v already exists.\"}")));
        var conflict = assertThrows(WapiException.Conflict.class, () -> client.createNetworkView("v", Map.of()));
        assertTrue(conflict.getMessage().contains("The network view v already exists."));

        wire.stubFor(
                any(anyUrl())
                        .willReturn(
                                aResponse()
                                        .withStatus(404)
                                        .withBody(
                                                "{\"Error\":\"AdmConDataNotFoundError\",\"code\":\"Client.Ibap.Data.NotFound\",\"text\":\"Reference not found\"}")));
        assertTrue(client.getFixedAddress("fixedaddress/abc:10.0.0.2/default").isEmpty());

        wire.stubFor(
                post(anyUrl())
                        .willReturn(
                                aResponse()
                                        .withStatus(400)
                                        .withBody(
                                                "{\"Error\":\"AdmConProtoError\",\"code\":\"Client.Ibap.Proto\",\"text\":\"Unknown extensible attribute: VM ID\"}")));
        var rejected = assertThrows(
                WapiException.Rejected.class,
                () -> client.createNetwork("default", "10.0.0.0/24", Map.of("VM ID", "x")));
        assertEquals("Unknown extensible attribute: VM ID", rejected.gridText());
    }

    @Test
    void sessionCookieIsReusedAndBasicAuthComesBackWhenItExpires() {
        wire.stubFor(get(anyUrl())
                .withHeader("Authorization", absent())
                .withCookie("ibapauth", equalTo("tok1"))
                .willReturn(aResponse().withStatus(200).withBody("[]")));
        wire.stubFor(get(anyUrl())
                .withHeader(
                        "Authorization",
                        equalTo("Basic "
                                + java.util.Base64.getEncoder().encodeToString(("admin:" + SECRET).getBytes())))
                .willReturn(aResponse()
                        .withStatus(200)
                        .withHeader("Set-Cookie", "ibapauth=tok1; httponly; Path=/")
                        .withBody("[]")));
        client.probe();
        client.probe();
        List<LoggedRequest> requests = wire.findAll(getRequestedFor(anyUrl()));
        assertTrue(requests.get(0).containsHeader("Authorization"));
        assertFalse(requests.get(1).containsHeader("Authorization"), "second call rides on the session cookie");

        wire.resetAll();
        wire.stubFor(get(anyUrl())
                .withHeader("Authorization", absent())
                .willReturn(aResponse().withStatus(401)));
        wire.stubFor(get(anyUrl())
                .withHeader(
                        "Authorization",
                        equalTo("Basic "
                                + java.util.Base64.getEncoder().encodeToString(("admin:" + SECRET).getBytes())))
                .willReturn(aResponse().withStatus(200).withBody("[]")));
        client.probe();
        assertEquals(2, wire.findAll(getRequestedFor(anyUrl())).size(), "expired cookie: one refusal, then Basic auth");
    }

    @Test
    void everyValueInAUrlIsEncoded() {
        wire.stubFor(get(urlPathEqualTo("/wapi/v2.5/fixedaddress"))
                .willReturn(aResponse().withStatus(200).withBody("[]")));
        client.findFixedAddressesByEa("my view&x=1", "VM ID", "c1;rm -rf&_max_results=1");
        LoggedRequest r = wire.findAll(getRequestedFor(urlPathEqualTo("/wapi/v2.5/fixedaddress")))
                .getFirst();
        assertEquals("my view&x=1", r.queryParameter("network_view").firstValue());
        assertEquals("c1;rm -rf&_max_results=1", r.queryParameter("*VM ID").firstValue());
        assertFalse(r.getUrl().contains(" "), r.getUrl());
        assertEquals(
                List.of("1000"),
                r.queryParameter("_max_results").values(),
                "the injected _max_results stayed inside the value");
        assertThrows(IllegalArgumentException.class, () -> client.getFixedAddress("../../etc"));
    }

    @Test
    void aRefIsEncodedIntoThePathNeverRejectedNorInterpreted() {
        wire.stubFor(
                get(anyUrl())
                        .willReturn(
                                aResponse()
                                        .withStatus(404)
                                        .withBody(
                                                "{\"Error\":\"AdmConDataNotFoundError\",\"code\":\"Client.Ibap.Data.NotFound\",\"text\":\"Reference not found\"}")));
        // a view named "cni_view?x=1": its '?' must not start a query
        assertTrue(client.getFixedAddress("fixedaddress/ZG5zLmZpeGVkX2FkZHJlc3MkMTAuMC4wLjIuMS4u:10.0.0.2/cni_view?x=1")
                .isEmpty());
        LoggedRequest odd = wire.findAll(getRequestedFor(anyUrl())).getLast();
        assertEquals(
                "/wapi/v2.5/fixedaddress/ZG5zLmZpeGVkX2FkZHJlc3MkMTAuMC4wLjIuMS4u:10.0.0.2/cni_view%3Fx=1",
                odd.getUrl().replaceFirst("\\?.*", ""));
        assertTrue(odd.queryParameter("x") == null || !odd.queryParameter("x").isPresent(), odd.getUrl());
        // a view named "..": a dot segment would be resolved away, so only type and key travel
        assertTrue(client.getFixedAddress("fixedaddress/ZG5zLmZpeGVkX2FkZHJlc3MkMTAuMC4wLjIuMS4u:10.0.0.2/..")
                .isEmpty());
        assertEquals(
                "/wapi/v2.5/fixedaddress/ZG5zLmZpeGVkX2FkZHJlc3MkMTAuMC4wLjIuMS4u",
                wire.findAll(getRequestedFor(anyUrl())).getLast().getUrl().replaceFirst("\\?.*", ""));
    }

    @Test
    void tlsVerificationIsOnByDefault() {
        WireMockServer tls = new WireMockServer(
                options().dynamicHttpsPort().httpDisabled(true).bindAddress("127.0.0.1"));
        tls.start();
        try (WapiClient verifying = new WapiClient(
                        WapiConfig.of("127.0.0.1", tls.httpsPort(), "2.5", "admin", SECRET, SslVerify.parse("true")));
                WapiClient trusting = new WapiClient(WapiConfig.of(
                        "127.0.0.1", tls.httpsPort(), "2.5", "admin", SECRET, SslVerify.parse("false")))) {
            tls.stubFor(get(anyUrl()).willReturn(aResponse().withStatus(200).withBody("[]")));
            var e = assertThrows(WapiException.Transient.class, verifying::probe);
            assertTrue(e.getMessage().contains("TLS"), e.getMessage());
            assertFalse(e.mayHaveBeenApplied());
            trusting.probe();
        } finally {
            tls.stop();
        }
    }

    @Test
    void aBadCaFileIsAStartupErrorNotADowngrade(@TempDir Path dir) throws Exception {
        var missing = assertThrows(
                IllegalArgumentException.class,
                () -> SslVerify.parse(dir.resolve("nope.pem").toString()));
        assertTrue(missing.getMessage().contains("nope.pem"));
        Path junk = Files.writeString(dir.resolve("junk.pem"), "not a certificate");
        assertThrows(IllegalArgumentException.class, () -> SslVerify.parse(junk.toString()));
        assertInstanceOf(SslVerify.System.class, SslVerify.parse(null));
        assertInstanceOf(SslVerify.Disabled.class, SslVerify.parse("FALSE"));
    }

    @Test
    void timeoutsMustBeFinite() {
        assertThrows(
                IllegalArgumentException.class,
                () -> WapiConfig.of("h", 443, "2.5", "u", "p", new SslVerify.System())
                        .withTimeouts(Duration.ZERO, null, null));
        assertThrows(
                IllegalArgumentException.class, () -> WapiConfig.of("h", 0, "2.5", "u", "p", new SslVerify.System()));
        assertThrows(
                IllegalArgumentException.class, () -> WapiConfig.of("h", 443, "v2", "u", "p", new SslVerify.System()));
    }
}
