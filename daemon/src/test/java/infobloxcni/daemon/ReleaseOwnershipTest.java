package infobloxcni.daemon;

import static infobloxcni.daemon.Eventually.await;
import static infobloxcni.daemon.TestHost.netconf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import infobloxcni.daemon.audit.JournalAudit;
import infobloxcni.store.Attachment;
import infobloxcni.store.AttachmentKey;
import infobloxcni.store.AttachmentState;
import infobloxcni.store.Journal;
import infobloxcni.wapisim.WapiSimulator;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A release never touches what is not this attachment's, against a grid whose refs name keys: the
 * address a DEL frees is the next one handed out, under byte-for-byte the same ref. Each scenario
 * deleted another holder's reservation before releases were verified. Through the daemons' real
 * sockets, on grids with and without the multiple-request object.
 */
class ReleaseOwnershipTest {
    private static final String NET =
            netconf("1.0.0", "net1", "\"subnet\":\"10.79.0.0/24\",\"network-view\":\"cni_view\"");
    private static final String VIEW = "cni_view";
    private static final Instant LONG_AGO = Instant.parse("2020-01-01T00:00:00Z");

    @TempDir
    Path dir;

    private WapiSimulator grid;
    private final List<TestHost> hosts = new ArrayList<>();

    private TestHost host(String hostId) throws Exception {
        TestHost h = new TestHost(grid, dir.resolve(hostId), hostId).start();
        hosts.add(h);
        return h;
    }

    private TestHost startGridAndHost(boolean requestObject) throws Exception {
        grid = WapiSimulator.builder()
                .port(0)
                .credentials(TestHost.USER, TestHost.PASSWORD)
                .requestObject(requestObject)
                .build()
                .start();
        return host("host-a");
    }

    @AfterEach
    void stop() {
        hosts.forEach(TestHost::close);
        if (grid != null) grid.close();
    }

    /** The method a verified DELETE travels as: inside POST request, or a plain DELETE. */
    private static String deleteMethod(boolean requestObject) {
        return requestObject ? "POST" : "DELETE";
    }

    private Map<String, Object> holderOf(String ip) {
        return grid.objects("fixedaddress").stream()
                .filter(f -> ip.equals(f.get("ipv4addr")))
                .findFirst()
                .orElse(null);
    }

    private String vmIdAt(String ip) {
        Map<String, Object> holder = holderOf(ip);
        return holder == null ? null : TestHost.ea(holder, "VM ID");
    }

    private static AttachmentKey key(String containerId) {
        return new AttachmentKey("net1", containerId, "eth0");
    }

    private static void awaitReleased(TestHost h, String containerId) throws InterruptedException {
        await(
                "the release of " + containerId + " is settled",
                () -> h.daemon().ipam().journal().get(key(containerId)).isEmpty());
    }

    private static String address(TestHost.Answer add) {
        assertTrue(add.ok(), add.toString());
        return add.address().replaceFirst("/.*", "");
    }

    // ----------------------------------------------------------------- the three scenarios

    @ParameterizedTest(name = "request object: {0}")
    @ValueSource(booleans = {true, false})
    void aDeleteAppliedButAnswered503IsNotRetriedOntoTheNextHolder(boolean requestObject) throws Exception {
        TestHost a = startGridAndHost(requestObject);
        String ip = address(a.call("ADD", "s1-a", "eth0", NET));
        assertEquals("10.79.0.2", ip);
        grid.faults()
                .failAfterApplyingNext(
                        1, 503, "Server.Unavailable", "Service Unavailable", deleteMethod(requestObject));
        assertTrue(a.call("DEL", "s1-a", "eth0", NET).ok(), "the release runs behind the answer");
        a.awaitSettled(); // the release behind the answer met the 503: it may have been applied, so it looked
        assertTrue(
                a.daemon().ipam().journal().get(key("s1-a")).isEmpty(),
                "a 503 after the DELETE was sent is looked past: the look found the reservation gone");
        assertEquals(ip, address(a.call("ADD", "s1-b", "eth0", NET)), "the grid hands the freed address out again");
        assertTrue(a.call("DEL", "s1-a", "eth0", NET).ok(), "the runtime repeats the DEL");
        a.awaitSettled();
        awaitReleased(a, "s1-a");
        assertEquals("s1-b", vmIdAt(ip), "s1-b still holds its reservation after s1-a's release was repeated");
    }

    @ParameterizedTest(name = "request object: {0}")
    @ValueSource(booleans = {true, false})
    void killedWhileTheDeletesAnswerWasOnItsWayThenAnotherHostTakesTheAddressThenTheRuntimeRetriesTheDel(
            boolean requestObject) throws Exception {
        TestHost a = startGridAndHost(requestObject);
        TestHost b = host("host-b");
        assertTrue(b.call("ADD", "warm-b", "eth0", NET).ok());
        String ip = address(a.call("ADD", "s2-a", "eth0", NET));
        // The DEL's intent was on disk and its DELETE reached the grid, which applied it; the daemon
        // was killed before the answer arrived.
        a.stop();
        try (Journal j = Journal.open(a.journalDir())) {
            j.put(j.get(key("s2-a")).orElseThrow().withState(AttachmentState.DEL_PENDING));
        }
        grid.deleteObject(holderOf(ip).get("_ref").toString());
        // Before the restarted daemon gets to its pending release (the grid was away when it came
        // back, say), another host's container is given the freed address, under the same ref.
        assertEquals(ip, address(b.call("ADD", "s2-b", "eth0", NET)), "host-b gets the freed address");
        a.start();
        assertTrue(a.call("DEL", "s2-a", "eth0", NET).ok(), "the runtime retries the DEL");
        awaitReleased(a, "s2-a");
        assertEquals("s2-b", vmIdAt(ip), "s2-b (host-b) keeps its reservation");
    }

    @ParameterizedTest(name = "request object: {0}")
    @ValueSource(booleans = {true, false})
    void anOperatorsPrinterOnTheAddressOfADeletedReservationSurvivesTheDel(boolean requestObject) throws Exception {
        TestHost a = startGridAndHost(requestObject);
        String ip = address(a.call("ADD", "s3-a", "eth0", NET));
        String ref = holderOf(ip).get("_ref").toString();
        grid.deleteObject(ref);
        String printer = grid.createObject(
                "fixedaddress",
                Map.of(
                        "ipv4addr",
                        ip,
                        "network_view",
                        VIEW,
                        "mac",
                        "aa:bb:cc:00:00:07",
                        "name",
                        "printer-7",
                        "extattrs",
                        Map.of("VM ID", Map.of("value", "printer-7"))));
        assertEquals(ref, printer, "the printer's reservation answers to the ref the journal kept");
        assertTrue(a.call("DEL", "s3-a", "eth0", NET).ok());
        a.awaitSettled();
        assertEquals("printer-7", vmIdAt(ip));
        assertTrue(a.daemon().ipam().journal().get(key("s3-a")).isEmpty(), "no longer ours counts as released");
    }

    @ParameterizedTest(name = "request object: {0}")
    @ValueSource(booleans = {true, false})
    void aWarmDelIsOneRoundTripWhereTheGridHasTheRequestObjectAndTwoWhereItHasNot(boolean requestObject)
            throws Exception {
        TestHost a = startGridAndHost(requestObject);
        address(a.call("ADD", "w1", "eth0", NET));
        address(a.call("ADD", "w2", "eth0", NET));
        assertTrue(a.call("DEL", "w1", "eth0", NET)
                .ok()); // the first release learns whether the grid has the request object
        a.awaitSettled();
        grid.resetCounters();
        assertTrue(a.call("DEL", "w2", "eth0", NET).ok());
        a.awaitSettled();
        assertEquals(
                requestObject ? Map.of("POST request", 1L) : Map.of("GET fixedaddress", 1L, "DELETE fixedaddress", 1L),
                grid.requestCounts());
        grid.resetCounters();
        assertTrue(a.call("DEL", "w2", "eth0", NET).ok(), "a repeated DEL");
        a.awaitSettled();
        assertEquals(
                Map.of("GET fixedaddress", 1L), grid.requestCounts(), "one search by VM ID finds nothing; no write");
    }

    // ----------------------------------------------------------------- whose reservation it is

    @Test
    void twoHostsDelEachOthersContainerIdsAndReleaseNothing() throws Exception {
        TestHost a = startGridAndHost(true);
        TestHost b = host("host-b");
        String onA = address(a.call("ADD", "shared-1", "eth0", NET));
        String onB = address(b.call("ADD", "b-only", "eth0", NET));
        assertTrue(b.call("DEL", "shared-1", "eth0", NET).ok(), "B has no such container: nothing to do");
        assertTrue(a.call("DEL", "b-only", "eth0", NET).ok());
        a.awaitSettled();
        b.awaitSettled();
        assertEquals("shared-1", vmIdAt(onA), "host-a's reservation survives host-b's DEL of the same container ID");
        assertEquals("b-only", vmIdAt(onB));
        String next = address(b.call("ADD", "b-next", "eth0", NET));
        assertNotEquals(onA, next, "host-b does not hand out host-a's live address");
        grid.resetCounters();
        assertTrue(b.call("DEL", "shared-1", "eth0", NET).ok());
        b.awaitSettled();
        assertEquals(
                0,
                grid.requestCount("DELETE", "fixedaddress") + grid.requestCount("POST", "request"),
                "no write at all");
    }

    @Test
    void anotherPlatformsReservationWithTheSameVmIdIsLeftAloneAndTheOriginalDriversIsReleased() throws Exception {
        TestHost a = startGridAndHost(true);
        assertTrue(a.call("ADD", "warm", "eth0", NET).ok());
        String openstack = grid.createObject(
                "fixedaddress",
                Map.of(
                        "ipv4addr",
                        "10.79.0.50",
                        "network_view",
                        VIEW,
                        "mac",
                        "fa:16:3e:00:00:01",
                        "extattrs",
                        Map.of(
                                "VM ID",
                                Map.of("value", "vm-1"),
                                "CMP Type",
                                Map.of("value", "OpenStack"),
                                "Tenant ID",
                                Map.of("value", "tenant-x"),
                                "Cloud API Owned",
                                Map.of("value", "True"))));
        grid.createObject(
                "fixedaddress",
                Map.of(
                        "ipv4addr",
                        "10.79.0.51",
                        "network_view",
                        VIEW,
                        "mac",
                        "02:42:0a:4f:00:33",
                        "extattrs",
                        TestHost.originalDriversEas("old-1")));
        assertTrue(a.call("DEL", "vm-1", "eth0", NET).ok());
        a.awaitSettled();
        assertTrue(
                grid.object(openstack) != null, "an OpenStack machine's reservation is not ours, whatever its VM ID");
        assertTrue(a.call("DEL", "old-1", "eth0", NET).ok());
        a.awaitSettled();
        assertEquals(
                null,
                holderOf("10.79.0.51"),
                "the original driver's reservation (no comment, its EAs) is released on migration");
    }

    @Test
    void aRecordWhoseRefNamesANetworkNeverDeletesTheNetwork() throws Exception {
        TestHost a = startGridAndHost(true);
        String ip = address(a.call("ADD", "n1", "eth0", NET));
        String networkRef = grid.objects("network").getFirst().get("_ref").toString();
        a.stop();
        try (Journal j = Journal.open(a.journalDir())) {
            Attachment known = j.get(key("n1")).orElseThrow();
            j.put(known.withRef(networkRef).withState(AttachmentState.DEL_PENDING));
        }
        a.start();
        awaitReleased(a, "n1");
        assertEquals(1, grid.objects("network").size(), "the network is still there");
        assertEquals(null, holderOf(ip), "the reservation, which was the attachment's, is released by its address");
        assertTrue(holderOf("10.79.0.1") != null, "the gateway too is still there");
    }

    @Test
    void aRecordTheGridCannotTakeNeverHoldsUpTheReleasesAfterIt() throws Exception {
        TestHost a = startGridAndHost(true);
        List<String> good = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            good.add(address(a.call("ADD", "good-" + i, "eth0", NET)));
        }
        a.stop();
        try (Journal j = Journal.open(a.journalDir())) {
            // a view no grid has, with a '?' that once made the ref unusable, and an address that is none
            j.put(Attachment.pending(key("a-poison"), "cni_view?x=1", null, LONG_AGO)
                    .withAllocation(
                            "10.79.0.999", 24, null, "fixedaddress/ZG5z:10.79.0.999/cni_view?x=1", "10.79.0.0/24")
                    .withState(AttachmentState.DEL_PENDING));
            for (int i = 0; i < 8; i++)
                j.put(j.get(key("good-" + i)).orElseThrow().withState(AttachmentState.DEL_PENDING));
        }
        a.start();
        for (int i = 0; i < 8; i++) awaitReleased(a, "good-" + i);
        for (String ip : good) assertEquals(null, holderOf(ip));
    }

    // ----------------------------------------------------------------- GC

    @Test
    void gcWithoutValidAttachmentsIsCode7AndReleasesNothing() throws Exception {
        TestHost a = startGridAndHost(true);
        String ip = address(a.call("ADD", "g1", "eth0", NET));
        TestHost.Answer gc =
                a.call("GC", null, null, NET.replace("\"cniVersion\":\"1.0.0\"", "\"cniVersion\":\"1.1.0\""));
        assertEquals(7, gc.code(), gc.toString());
        assertTrue(gc.msg().contains("cni.dev/valid-attachments"), gc.msg());
        assertEquals("g1", vmIdAt(ip));
    }

    @Test
    void gcOfAContainerWhoseAddressNowHoldsAnotherReservationLeavesThatAlone() throws Exception {
        TestHost a = startGridAndHost(true);
        String ip = address(a.call("ADD", "g1", "eth0", NET));
        grid.deleteObject(holderOf(ip).get("_ref").toString());
        TestHost b = host("host-b");
        assertEquals(ip, address(b.call("ADD", "g2", "eth0", NET)));
        String gcConf = NET.replace("\"cniVersion\":\"1.0.0\"", "\"cniVersion\":\"1.1.0\"")
                .replace("}}", "},\"cni.dev/valid-attachments\":[]}");
        TestHost.Answer gc = a.call("GC", null, null, gcConf);
        assertTrue(gc.ok(), gc.toString());
        // the release runs behind GC's answer
        Eventually.await(
                "g1's stale record is settled",
                () -> a.daemon().ipam().journal().get(key("g1")).isEmpty());
        assertEquals("g2", vmIdAt(ip), "host-b's container keeps the address host-a's stale record pointed at");
    }

    // ----------------------------------------------------------------- the audit

    @Test
    void theAuditReportsARecordWhoseAddressHoldsAnotherAndApplyDropsItWithoutTouchingTheGrid() throws Exception {
        TestHost a = startGridAndHost(true);
        String ip = address(a.call("ADD", "c1", "eth0", NET));
        grid.deleteObject(holderOf(ip).get("_ref").toString());
        TestHost b = host("host-b");
        assertEquals(ip, address(b.call("ADD", "c2", "eth0", NET)));
        List<JournalAudit.LiveAttachment> live = List.of(new JournalAudit.LiveAttachment("net1", "c1", "eth0"));

        JournalAudit.Report report = a.audit(live, false);
        JournalAudit.Finding f = report.findings().stream()
                .filter(x -> x.key().containerId().equals("c1"))
                .findFirst()
                .orElseThrow();
        assertEquals(JournalAudit.Kind.HELD_BY_ANOTHER, f.kind(), report.toString());
        assertTrue(f.detail().contains("c2"), f.detail());

        grid.resetCounters();
        JournalAudit.Report applied = a.audit(live, true);
        assertTrue(
                applied.findings().stream()
                        .anyMatch(x -> x.kind() == JournalAudit.Kind.HELD_BY_ANOTHER && x.repaired()),
                applied.toString());
        assertEquals(
                0,
                grid.requestCount("DELETE", "fixedaddress")
                        + grid.requestCount("POST", "request")
                        + grid.requestCount("POST", "fixedaddress")
                        + grid.requestCount("PUT", "fixedaddress"),
                "the grid is not written to");
        assertTrue(a.daemon().ipam().journal().get(key("c1")).isEmpty(), "the record is dropped");
        assertEquals("c2", vmIdAt(ip));
    }
}
