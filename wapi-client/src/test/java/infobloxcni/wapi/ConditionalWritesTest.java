package infobloxcni.wapi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import infobloxcni.wapisim.WapiSimulator;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Writes to a fixed address happen only while it is provably the claimant's, against a simulator
 * whose refs are a grid's (a freed address handed out again has byte-for-byte the old ref), with
 * and without the multiple-request object. Exact counts of the grid calls each way takes.
 */
@Timeout(20)
class ConditionalWritesTest {
    private static final String VIEW = "cni_view";
    private static final String NET = "10.30.0.0/24";
    private static final ReservationClaim OURS =
            new ReservationClaim("infoblox-cni host=h1 net=n1 if=eth0", Map.of("VM ID", "c1"));
    private static final ReservationClaim LEGACY = new ReservationClaim(
            null, Map.of("VM ID", "c1", "CMP Type", "Kubernetes", "Tenant ID", "cluster-1", "Cloud API Owned", "True"));
    private static final List<ReservationClaim> CLAIMS = List.of(OURS, LEGACY);

    private WapiSimulator sim;
    private WapiClient client;

    private void start(boolean requestObject) {
        sim = WapiSimulator.builder()
                .port(0)
                .requestObject(requestObject)
                .build()
                .start();
        client = new WapiClient(
                WapiConfig.of("127.0.0.1", sim.port(), "2.5", "admin", "infoblox", new SslVerify.System())
                        .withHttps(false)
                        .withTimeouts(Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(5)));
        sim.createObject("networkview", Map.of("name", VIEW));
        sim.createObject("network", Map.of("network", NET, "network_view", VIEW));
    }

    @AfterEach
    void stop() {
        if (client != null) client.close();
        if (sim != null) sim.close();
    }

    private FixedAddress reserve(String comment, Map<String, String> eas) {
        return client.reserveNextAvailableIp(VIEW, NET, new FixedAddressSpec(null, null, comment, null, eas));
    }

    private FixedAddress ours() {
        return reserve(OURS.comment(), Map.of("VM ID", "c1", "CMP Type", "Kubernetes"));
    }

    @ParameterizedTest(name = "request object: {0}")
    @ValueSource(booleans = {true, false})
    void ourReservationIsDeletedInOneRoundTripWhereTheGridCanAndTwoWhereItCannot(boolean requestObject) {
        start(requestObject);
        FixedAddress r = ours();
        sim.resetCounters();
        VerifiedWrite w = client.deleteFixedAddressIf(VIEW, r.ipv4addr(), CLAIMS);
        assertEquals(VerifiedWrite.Outcome.WRITTEN, w.outcome());
        assertTrue(sim.objects("fixedaddress").isEmpty());
        if (requestObject) {
            assertEquals(Map.of("POST request", 1L), sim.requestCounts(), "check and delete in one request");
        } else {
            // the first call learns that the grid has no request object; from then on: look, then delete
            assertEquals(
                    Map.of("POST request", 1L, "GET fixedaddress", 1L, "DELETE fixedaddress", 1L), sim.requestCounts());
            FixedAddress again = ours();
            sim.resetCounters();
            client.deleteFixedAddressIf(VIEW, again.ipv4addr(), CLAIMS);
            assertEquals(Map.of("GET fixedaddress", 1L, "DELETE fixedaddress", 1L), sim.requestCounts());
        }
    }

    @ParameterizedTest(name = "request object: {0}")
    @ValueSource(booleans = {true, false})
    void aStaleRefsAddressNowHeldByAnotherIsLeftAlone(boolean requestObject) {
        start(requestObject);
        FixedAddress mine = ours();
        sim.deleteObject(mine.ref()); // released (the answer was lost, say)
        FixedAddress theirs = reserve("infoblox-cni host=h1 net=n1 if=eth0", Map.of("VM ID", "c2"));
        assertEquals(mine.ref(), theirs.ref(), "the grid handed the freed address out again, under the same ref");
        VerifiedWrite w = client.deleteFixedAddressIf(VIEW, mine.ipv4addr(), CLAIMS);
        assertEquals(VerifiedWrite.Outcome.HELD_BY_ANOTHER, w.outcome());
        assertEquals("c2", w.holder().ea("VM ID"));
        assertEquals(1, sim.objects("fixedaddress").size(), "the other container's reservation survives");

        FixedAddress printer = reserve(null, Map.of("VM ID", "printer-7"));
        assertEquals(
                VerifiedWrite.Outcome.HELD_BY_ANOTHER,
                client.deleteFixedAddressIf(VIEW, printer.ipv4addr(), CLAIMS).outcome());
        FixedAddress otherHost = reserve("infoblox-cni host=h2 net=n1 if=eth0", Map.of("VM ID", "c1"));
        assertEquals(
                VerifiedWrite.Outcome.HELD_BY_ANOTHER,
                client.deleteFixedAddressIf(VIEW, otherHost.ipv4addr(), CLAIMS).outcome(),
                "same container ID, another host");
        FixedAddress openstack = reserve(null, Map.of("VM ID", "c1", "CMP Type", "OpenStack"));
        assertEquals(
                VerifiedWrite.Outcome.HELD_BY_ANOTHER,
                client.deleteFixedAddressIf(VIEW, openstack.ipv4addr(), CLAIMS).outcome(),
                "same VM ID, another cloud platform");
        assertEquals(4, sim.objects("fixedaddress").size());
    }

    @ParameterizedTest(name = "request object: {0}")
    @ValueSource(booleans = {true, false})
    void anEmptyAddressIsAbsentAndTheOriginalDriversReservationIsRecognisedByItsEas(boolean requestObject) {
        start(requestObject);
        assertEquals(
                VerifiedWrite.Outcome.ABSENT,
                client.deleteFixedAddressIf(VIEW, "10.30.0.9", CLAIMS).outcome());
        FixedAddress legacy = reserve(null, LEGACY.extattrs());
        assertEquals(
                VerifiedWrite.Outcome.WRITTEN,
                client.deleteFixedAddressIf(VIEW, legacy.ipv4addr(), CLAIMS).outcome());
        assertTrue(sim.objects("fixedaddress").isEmpty());
    }

    @ParameterizedTest(name = "request object: {0}")
    @ValueSource(booleans = {true, false})
    void aLostAnswerIsNotRepeatedBlindTheAddressIsLookedAtAgain(boolean requestObject) {
        start(requestObject);
        FixedAddress r = ours();
        client.deleteFixedAddressIf(VIEW, "10.30.0.200", CLAIMS); // learn whether the request object exists
        sim.resetCounters();
        sim.faults().dropAfterApplyingNext(1, requestObject ? "POST" : "DELETE");
        VerifiedWrite w = client.deleteFixedAddressIf(VIEW, r.ipv4addr(), CLAIMS);
        assertEquals(VerifiedWrite.Outcome.ABSENT, w.outcome(), "applied, answer lost: the look finds it gone");
        assertEquals(
                1,
                sim.requestCount(requestObject ? "POST" : "DELETE", requestObject ? "request" : "fixedaddress"),
                "the write went out once");
        assertEquals(requestObject ? 1 : 2, sim.requestCount("GET", "fixedaddress"));
    }

    @ParameterizedTest(name = "request object: {0}")
    @ValueSource(booleans = {true, false})
    void aWriteCutBeforeTheGridAppliedItIsMadeAfterLookingAgain(boolean requestObject) {
        start(requestObject);
        FixedAddress r = ours();
        client.deleteFixedAddressIf(VIEW, "10.30.0.200", CLAIMS);
        sim.faults().dropBeforeApplyingNext(1, requestObject ? "POST" : "DELETE");
        assertEquals(
                VerifiedWrite.Outcome.WRITTEN,
                client.deleteFixedAddressIf(VIEW, r.ipv4addr(), CLAIMS).outcome());
        assertTrue(sim.objects("fixedaddress").isEmpty());
    }

    @ParameterizedTest(name = "request object: {0}")
    @ValueSource(booleans = {true, false})
    void aServerErrorAfterTheGridAppliedTheDeleteIsLookedPastAndTheNextAttemptFindsTheNextHolder(
            boolean requestObject) {
        start(requestObject);
        FixedAddress r = ours();
        client.deleteFixedAddressIf(VIEW, "10.30.0.200", CLAIMS);
        for (int status : new int[] {502, 503, 504}) {
            // any 5xx after sending may come after the grid committed: the client looks, and finds it gone
            sim.faults()
                    .failAfterApplyingNext(1, status, "Server.Unavailable", "busy", requestObject ? "POST" : "DELETE");
            assertEquals(
                    VerifiedWrite.Outcome.ABSENT,
                    client.deleteFixedAddressIf(VIEW, r.ipv4addr(), CLAIMS).outcome(),
                    "a " + status + " after the DELETE was applied");
            assertTrue(sim.objects("fixedaddress").isEmpty(), "the grid did apply it");
            if (status != 504) r = ours();
        }
        FixedAddress next = reserve("infoblox-cni host=h1 net=n1 if=eth0", Map.of("VM ID", "c2"));
        assertEquals(r.ipv4addr(), next.ipv4addr());
        assertEquals(
                VerifiedWrite.Outcome.HELD_BY_ANOTHER,
                client.deleteFixedAddressIf(VIEW, r.ipv4addr(), CLAIMS).outcome(),
                "the retry finds the next holder and leaves it");
        assertEquals(1, sim.objects("fixedaddress").size());
    }

    @ParameterizedTest(name = "request object: {0}")
    @ValueSource(booleans = {true, false})
    void anUpdateIsMadeOnlyOnOursAndALostAnswerCountsOnceItShows(boolean requestObject) {
        start(requestObject);
        FixedAddress r = ours();
        FixedAddressSpec tag =
                new FixedAddressSpec("02:42:0a:1e:00:02", "pod-x", null, null, Map.of("VM Name", "pod-x"));
        VerifiedWrite w = client.updateFixedAddressIf(VIEW, r.ipv4addr(), CLAIMS, tag);
        assertEquals(VerifiedWrite.Outcome.WRITTEN, w.outcome());
        assertNotNull(w.holder());
        assertEquals("pod-x", w.holder().name());
        assertEquals("02:42:0a:1e:00:02", w.holder().mac());
        assertEquals(
                Map.of("VM ID", "c1", "CMP Type", "Kubernetes", "VM Name", "pod-x"),
                w.holder().extattrs(),
                "EAs merged");

        sim.faults().dropAfterApplyingNext(1, requestObject ? "POST" : "PUT");
        FixedAddressSpec retag = new FixedAddressSpec(null, "pod-y", null, null, Map.of("VM Name", "pod-y"));
        assertEquals(
                VerifiedWrite.Outcome.WRITTEN,
                client.updateFixedAddressIf(VIEW, r.ipv4addr(), CLAIMS, retag).outcome());
        assertEquals(
                "pod-y",
                client.findFixedAddressByIp(VIEW, r.ipv4addr()).orElseThrow().name());

        FixedAddress theirs = reserve(null, Map.of("VM ID", "printer-7"));
        assertEquals(
                VerifiedWrite.Outcome.HELD_BY_ANOTHER,
                client.updateFixedAddressIf(VIEW, theirs.ipv4addr(), CLAIMS, tag)
                        .outcome());
        assertEquals(
                null,
                client.findFixedAddressByIp(VIEW, theirs.ipv4addr())
                        .orElseThrow()
                        .name(),
                "untouched");
    }
}
