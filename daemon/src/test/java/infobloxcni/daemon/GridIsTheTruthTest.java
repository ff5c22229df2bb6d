package infobloxcni.daemon;

import static infobloxcni.daemon.Eventually.await;
import static infobloxcni.daemon.TestHost.netconf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import infobloxcni.daemon.audit.JournalAudit;
import infobloxcni.daemon.cni.MacAddresses;
import infobloxcni.daemon.settle.PoolKeeper;
import infobloxcni.daemon.state.AddressPool;
import infobloxcni.store.Attachment;
import infobloxcni.store.AttachmentKey;
import infobloxcni.store.AttachmentState;
import infobloxcni.store.Journal;
import infobloxcni.wapisim.WapiSimulator;
import infobloxcni.wire.CniError;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The grid is the truth (issue 15): one test per way the daemon trusted its own records over
 * the grid and handed one address to two holders, released what was not its own, or leaked.
 * Each failed on the code before the fix; the line above each says what it did then.
 */
class GridIsTheTruthTest {
    private static final String HOST = "host-a";

    @TempDir
    Path dir;

    private WapiSimulator grid;
    private TestHost host;

    @BeforeEach
    void startGrid() {
        grid = TestHost.startGrid();
    }

    @AfterEach
    void stop() {
        grid.faults().reset();
        if (host != null) host.close();
        grid.close();
    }

    private TestHost start(String hostId) throws Exception {
        host = new TestHost(grid, dir.resolve("h"), hostId).start();
        return host;
    }

    private static String net(String name, String subnet, int poolSize) {
        return netconf("1.1.0", name, "\"subnet\":\"" + subnet + "\",\"pool-size\":" + poolSize);
    }

    private List<Map<String, Object>> fixed() {
        return grid.objects("fixedaddress");
    }

    private Map<String, Object> holderOf(String ip) {
        return fixed().stream()
                .filter(f -> ip.equals(f.get("ipv4addr")))
                .findFirst()
                .orElse(null);
    }

    private List<String> poolOnGrid(String hostId, String network) {
        String comment = "infoblox-cni host=" + hostId + " net=" + network + " pool";
        return fixed().stream()
                .filter(f -> comment.equals(f.get("comment")))
                .map(f -> String.valueOf(f.get("ipv4addr")))
                .sorted()
                .toList();
    }

    private List<String> poolInJournal(String network) {
        return host.daemon().ipam().journal().all().stream()
                .filter(a ->
                        a.state() == AttachmentState.POOL && a.key().network().equals(network))
                .map(Attachment::address)
                .sorted()
                .toList();
    }

    private void awaitNothingPending() throws InterruptedException {
        // the start-up merge runs beside requests: until it is done, nothing is pending because nothing is known
        await("nothing is pending on the grid", () -> {
            var status = host.status();
            var journal = status.path("journal");
            return status.path("journalMerged").asBoolean()
                    && !journal.has("TAG_PENDING")
                    && !journal.has("RETURN_PENDING")
                    && !journal.has("DEL_PENDING")
                    && !journal.has("POOL_PENDING")
                    && !journal.has("ADD_PENDING");
        });
    }

    /** After an outage began: a STATUS makes the daemon look (an idle daemon probes only every 30 s), then it knows. */
    private void awaitKnownDown() throws InterruptedException {
        host.call("STATUS", null, null, netconf("1.1.0", "probe", ""));
        await(
                "the daemon knows the grid is down",
                () -> host.daemon().gridHealth().failingFast());
    }

    private static String ip(TestHost.Answer add) {
        assertTrue(add.ok(), add.toString());
        return add.address().replaceFirst("/.*", "");
    }

    private void reserveForSomeoneElse(String ip, String vmId) {
        TestHost.fixedAddressOnGrid(grid, ip, "aa:bb:cc:00:00:07", null, Map.of("VM ID", Map.of("value", vmId)));
    }

    private void poolEntryOnGrid(String hostId, String network, String ip) {
        TestHost.poolEntryOnGrid(grid, hostId, network, ip);
    }

    // ------------------------------------------------------------------ item 2: a replayed release

    /**
     * Item 2: a DEL whose DELETE was applied but whose answer was lost, during a short outage;
     * meanwhile the keeper reserved the freed address again as a pool entry. The replayed release
     * found the address holding this host's pool entry and, since releases claimed the pool's tag
     * too, deleted it: the journal kept a free POOL record with nothing on the grid behind it.
     * Here the journal and grid are put in exactly that state; the replay must leave the entry.
     */
    @Test
    void aReplayedReleaseNeverDeletesThePoolEntryTheKeeperReservedAtTheFreedAddress() throws Exception {
        String conf = net("pn", "10.51.0.0/24", 0);
        start(HOST);
        String c0 = ip(host.call("ADD", "c0", "eth0", conf)); // the network, its gateway: 10.51.0.2 for c0
        host.stop();
        String freed = "10.51.0.9";
        poolEntryOnGrid(HOST, "pn", freed); // the keeper's refill, handed the address cX's DELETE had freed
        try (Journal j = Journal.open(host.journalDir())) {
            AttachmentKey cx = new AttachmentKey("pn", "cx", "eth0");
            j.put(Attachment.pending(cx, "default", MacAddresses.NONE, Instant.now())
                    .withAllocation(freed, 24, "10.51.0.1", null, "10.51.0.0/24")
                    .withState(AttachmentState.DEL_PENDING)
                    .withAttempt()
                    .withError("DELETE fixedaddress: grid unreachable: the request may have been applied"));
            j.put(AddressPool.entry("pn", "default", freed, 24, "10.51.0.1", null, "10.51.0.0/24", Instant.now()));
        }
        host.start();
        awaitNothingPending();
        assertEquals(List.of(freed), poolOnGrid(HOST, "pn"), "the keeper's pool entry is still on the grid");
        assertEquals(List.of(freed), poolInJournal("pn"), "and in the journal: the two agree");
        assertNotNull(holderOf(c0));
    }

    // --------------------------------------------------- item 3: the original driver's on another network

    /**
     * Item 3: a container of the original driver holds a reservation on net1 and one on net3
     * (no comment, its EAs). DEL net1 released the net3 one too: intents carried no subnet, and
     * the search by VM ID matched any network of the view. An ADD on net1 whose POST answer was
     * lost "released the duplicate" on net3 the same way.
     */
    @Test
    void theOriginalDriversReservationOnAnotherNetworkIsNeverReleased() throws Exception {
        start(HOST);
        String net1 = net("net1", "10.10.0.0/24", 0);
        String net3 = net("net3", "10.40.0.0/24", 0);
        ip(host.call("ADD", "warm1", "eth0", net1));
        ip(host.call("ADD", "warm3", "eth0", net3));
        for (String[] r :
                new String[][] {{"g7", "10.10.0.60"}, {"g7", "10.40.0.60"}, {"g8", "10.10.0.61"}, {"g8", "10.40.0.61"}
                }) {
            grid.createObject(
                    "fixedaddress",
                    Map.of(
                            "ipv4addr",
                            r[1],
                            "network_view",
                            "default",
                            "mac",
                            "00:00:00:00:00:00",
                            "extattrs",
                            TestHost.originalDriversEas(r[0])));
        }
        assertTrue(host.call("DEL", "g7", "eth0", net1).ok());
        host.awaitSettled();
        awaitNothingPending();
        assertNull(holderOf("10.10.0.60"), "g7's net1 reservation is released");
        assertEquals("g7", TestHost.ea(holderOf("10.40.0.60"), "VM ID"), "g7's net3 reservation is not net1's");

        grid.faults().dropAfterApplyingNext(1, "POST"); // an ADD on net1 whose answer is lost
        var add = host.call("ADD", "g8", "eth0", net1);
        assertTrue(add.ok(), "the daemon looks after the lost answer and adopts what it reserved: " + add);
        host.awaitSettled();
        assertEquals("g8", TestHost.ea(holderOf("10.40.0.61"), "VM ID"), "g8's net3 reservation is no duplicate");
    }

    // ----------------------------------------------------- item 4: a stale CNI cache entry in a rebuild

    /** A libcni cache entry for an attachment of network {@code network}, whose result gave it {@code ip}. */
    private static String cacheEntry(String network, String containerId, String ip) {
        String config = "{\"cniVersion\":\"1.0.0\",\"name\":\"" + network
                + "\",\"type\":\"bridge\",\"ipam\":{\"type\":\"infoblox\"}}";
        return "{\"kind\":\"cniCacheV1\",\"containerId\":\"" + containerId + "\",\"config\":\""
                + Base64.getEncoder().encodeToString(config.getBytes(StandardCharsets.UTF_8))
                + "\",\"ifName\":\"eth0\",\"networkName\":\"" + network
                + "\",\"result\":{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"" + ip
                + "/24\",\"gateway\":\"10.52.0.1\"}]}}";
    }

    /**
     * Item 4: zz-old is DELed into the pool but its CNI cache entry stays (the runtime's teardown
     * failed); in an outage aa-new is given the same address from the pool, untagged; the journal
     * is lost; the grid is back. The rebuild took the first cache entry in directory order and
     * tagged the address for zz-old, and the runtime's retried DEL zz-old released the address
     * aa-new uses. The newest cache entry is the one the pool gave the address to.
     */
    @Test
    void aRebuildGivesAPoolAddressToTheNewestCacheEntryNotAStaleOne() throws Exception {
        host = new TestHost(grid, dir.resolve("h"), HOST).start();
        String noPool = net("rn", "10.52.0.0/24", 0);
        String pooled = net("rn", "10.52.0.0/24", 1);
        String old = ip(host.call("ADD", "zz-old", "eth0", noPool));
        assertTrue(host.call("DEL", "zz-old", "eth0", pooled).ok(), "below the pool's target: back into the pool");
        awaitNothingPending();
        await("zz-old's address is back in the pool", () -> poolInJournal("rn").contains(old));
        await(
                "the keeper checked it against the grid",
                () -> host.daemon().ipam().pool().isConfirmed("default", old));

        grid.faults().outage(true);
        awaitKnownDown();
        String given = ip(host.call("ADD", "aa-new", "eth0", pooled));
        assertEquals(old, given, "the pool gives aa-new the address zz-old had");
        host.stop(); // killed: the journal is lost
        TestHost.deleteTree(host.journalDir());

        // The runtime's cache: zz-old's stale entry, written first, and aa-new's, written later. The stale one is
        // put in whichever file the directory lists first, as the old rebuild took the first one it read.
        Path cache = dir.resolve("h").resolve("cni-cache");
        Files.createDirectories(cache);
        Files.writeString(cache.resolve("rn-zz-old-eth0"), "{}");
        Files.writeString(cache.resolve("rn-aa-new-eth0"), "{}");
        List<Path> listed = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(cache)) {
            files.forEach(listed::add);
        }
        Files.writeString(listed.get(0), cacheEntry("rn", "zz-old", old));
        Files.writeString(listed.get(1), cacheEntry("rn", "aa-new", given));
        Files.setLastModifiedTime(listed.get(0), FileTime.from(Instant.now().minusSeconds(3600)));
        Files.setLastModifiedTime(listed.get(1), FileTime.from(Instant.now()));

        grid.faults().outage(false);
        host.start();
        awaitNothingPending();
        assertTrue(host.call("DEL", "zz-old", "eth0", pooled).ok(), "the runtime retries zz-old's DEL");
        host.awaitSettled();
        awaitNothingPending();
        Map<String, Object> holder = holderOf(given);
        assertNotNull(holder, "aa-new's address is still reserved");
        assertEquals("aa-new", TestHost.ea(holder, "VM ID"), "for aa-new: " + holder);
    }

    // --------------------------------------------------------------- item 5: 5xx after the write

    /**
     * Item 5: the ADD's POST is applied and answered 503 (a grid behind a balancer, or under
     * load). The daemon forgot the intent and answered 11; the runtime's retry reserved a second
     * address, and after the DEL the first one was leaked. Any 5xx after sending may have been
     * applied: the daemon looks, adopts what it finds, and answers.
     */
    @Test
    void aReservationAppliedAndAnswered5xxIsAdoptedNeverDoubled() throws Exception {
        start(HOST);
        String conf = net("fn", "10.53.0.0/24", 0);
        ip(host.call("ADD", "warm", "eth0", conf));
        for (int status : new int[] {502, 503, 504}) {
            String id = "c" + status;
            grid.faults().failAfterApplyingNext(1, status, "Server.Unavailable", "Service Unavailable", "POST");
            var add = host.call("ADD", id, "eth0", conf);
            if (!add.ok()) {
                assertEquals(CniError.TRY_AGAIN_LATER, add.code(), add.toString());
                add = host.call("ADD", id, "eth0", conf); // the runtime retries
            }
            assertTrue(add.ok(), add.toString());
            assertEquals(1, TestHost.reservationsOf(grid, id).size(), status + ": one reservation, never two");
            assertEquals(ip(add), TestHost.reservationsOf(grid, id).getFirst().get("ipv4addr"));
            assertTrue(host.call("DEL", id, "eth0", conf).ok());
            host.awaitSettled();
            awaitNothingPending();
            assertTrue(TestHost.reservationsOf(grid, id).isEmpty(), status + ": nothing leaked after the DEL");
        }
    }

    /** Item 5, for the pool: a refill applied and answered 503 left an orphan pool entry until a restart. */
    @Test
    void aRefillAppliedAndAnswered503IsTakenIntoThePool() throws Exception {
        start(HOST);
        String conf = net("fp", "10.54.0.0/24", 2);
        ip(host.call("ADD", "warm", "eth0", netconf("1.1.0", "fp", "\"subnet\":\"10.54.0.0/24\",\"pool-size\":0")));
        grid.faults().failAfterApplyingNext(1, 503, "Server.Unavailable", "Service Unavailable", "POST");
        assertTrue(host.call("STATUS", null, null, conf).ok()); // the pool's target is now 2
        await("the pool is full", () -> poolInJournal("fp").size() == 2);
        awaitNothingPending();
        assertEquals(poolInJournal("fp"), poolOnGrid(HOST, "fp"), "no orphan: journal and grid agree");
    }

    /** A surplus release answered 503 dropped the pool record before the DELETE: the reservation was orphaned. */
    @Test
    void aSurplusReleaseAnswered503KeepsItsRecordUntilTheGridSaysItIsGone() throws Exception {
        start(HOST);
        ip(host.call("ADD", "warm", "eth0", net("sp", "10.55.0.0/24", 2)));
        await("the pool is full", () -> poolInJournal("sp").size() == 2);
        awaitNothingPending();
        // the target falls to 0; the releases of the surplus meet a 503 before the grid applied anything
        grid.faults().failNext(2, 503, "Server.Unavailable", "Service Unavailable");
        assertTrue(host.call("STATUS", null, null, net("sp", "10.55.0.0/24", 0)).ok());
        await("the surplus is released", () -> poolOnGrid(HOST, "sp").isEmpty());
        awaitNothingPending();
        assertTrue(poolInJournal("sp").isEmpty());
    }

    /**
     * The outage trade-off, item 1's remainder: a pool address answered while the grid is down,
     * then re-reserved by an operator before the grid is back. The old daemon logged CONFLICT and
     * nothing else: status showed nothing and the runtime was never told. Now status lists it,
     * and CHECK and a repeated ADD of that container fail naming the holder.
     */
    @Test
    void aPoolAddressAnsweredInAnOutageAndTakenMeanwhileIsReportedNotHidden() throws Exception {
        start(HOST);
        String conf = net("cn", "10.66.0.0/24", 2);
        ip(host.call("ADD", "warm", "eth0", conf));
        await(
                "the pool is full and checked",
                () -> poolInJournal("cn").stream()
                                .filter(a -> host.daemon().ipam().pool().isConfirmed("default", a))
                                .count()
                        == 2);
        awaitNothingPending();
        grid.faults().outage(true);
        awaitKnownDown();
        var add = host.call("ADD", "c1", "eth0", conf);
        String answered = ip(add);
        Map<String, Object> entry = holderOf(answered);
        grid.deleteObject(String.valueOf(entry.get("_ref"))); // the operator, during the outage
        reserveForSomeoneElse(answered, "printer-9");
        grid.faults().outage(false);
        host.awaitGridUp();
        await("the conflict is listed", () -> host.status().path("conflicts").size() == 1);
        var conflict = host.status().path("conflicts").get(0);
        assertEquals("c1", conflict.path("containerId").asText());
        assertEquals(answered, conflict.path("address").asText());
        assertTrue(conflict.path("detail").asText().contains("printer-9"), conflict.toString());
        var check = host.call("CHECK", "c1", "eth0", TestHost.withPrevResult(conf, add.stdout()));
        assertEquals(CniError.RESERVATION_MISMATCH, check.code(), check.toString());
        assertTrue(check.msg().contains("printer-9"), check.msg());
        var again = host.call("ADD", "c1", "eth0", conf);
        assertEquals(CniError.RESERVATION_MISMATCH, again.code(), again.toString());
        assertEquals("printer-9", TestHost.ea(holderOf(answered), "VM ID"), "the printer keeps it");
        assertTrue(host.call("DEL", "c1", "eth0", conf).ok());
        host.awaitSettled();
        awaitNothingPending();
        assertEquals("printer-9", TestHost.ea(holderOf(answered), "VM ID"), "the DEL leaves the printer's alone");
        assertEquals(0, host.status().path("conflicts").size());
    }

    // ------------------------------------------------------------------ the smaller items

    /**
     * The same network name with a new subnet: the old subnet's pool entries stayed reserved for
     * ever and counted toward the target, so the new subnet never got a pool.
     */
    @Test
    void aNetworkWhoseSubnetChangedGetsItsPoolInTheNewSubnetAndTheOldOneIsReleased() throws Exception {
        start(HOST);
        String before = net("sn", "10.56.0.0/24", 2);
        String after = net("sn", "10.57.0.0/24", 2);
        String c1 = ip(host.call("ADD", "c1", "eth0", before));
        await("the pool of the old subnet is full", () -> poolOnGrid(HOST, "sn").size() == 2);
        String c2 = ip(host.call("ADD", "c2", "eth0", after));
        assertTrue(c2.startsWith("10.57.0."), c2);
        await(
                "the pool is in the new subnet, the old one released",
                () -> poolOnGrid(HOST, "sn").size() == 2
                        && poolOnGrid(HOST, "sn").stream().allMatch(a -> a.startsWith("10.57.0.")));
        assertEquals("c1", TestHost.ea(holderOf(c1), "VM ID"), "c1 keeps its address in the old subnet");
        assertTrue(host.call("DEL", "c1", "eth0", after).ok());
        host.awaitSettled();
        awaitNothingPending();
        assertNull(holderOf(c1), "c1's DEL releases its old-subnet address");
        JournalAudit.Report audit = host.audit(null, false);
        assertTrue(audit.findings().isEmpty(), audit.toString());
    }

    /** A clock that tests move on. */
    private static final class MovableClock extends Clock {
        private final AtomicReference<Duration> ahead = new AtomicReference<>(Duration.ZERO);

        void forward(Duration d) {
            ahead.updateAndGet(a -> a.plus(d));
        }

        @Override
        public ZoneId getZone() {
            return ZoneId.of("UTC");
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return Instant.now().plus(ahead.get());
        }
    }

    /** A network no longer named after a restart kept its pool for ever; recover reported only what exceeded 2. */
    @Test
    void thePoolOfANetworkNoRequestNamesSinceTheStartIsReleasedAfterItsGrace() throws Exception {
        MovableClock clock = new MovableClock();
        host = new TestHost(grid, dir.resolve("h"), HOST).clock(clock).start();
        String gone = net("gone", "10.58.0.0/24", 3);
        String kept = net("kept", "10.59.0.0/24", 3);
        assertTrue(host.call("DEL", "x", "eth0", gone).ok()); // a request names both networks, so they get pools
        ip(host.call("ADD", "lives", "eth0", kept));
        await(
                "both pools are full",
                () -> poolOnGrid(HOST, "gone").size() == 3
                        && poolOnGrid(HOST, "kept").size() == 3);
        host.stop();
        host.start(); // no request names "gone" any more; "kept" has a container here
        clock.forward(PoolKeeper.UNNAMED_POOL_GRACE.plusMinutes(1));
        await(
                "the pool of the network no longer named is released",
                () -> poolOnGrid(HOST, "gone").isEmpty());
        assertEquals(3, poolOnGrid(HOST, "kept").size(), "a network a container uses keeps its pool");
    }

    /**
     * A new --host-id (the host renamed): the old reservations were "counted as released" and
     * leaked, the old pool addresses were handed out with a false CONFLICT, and --forget-host of
     * the old name would release addresses live containers use.
     */
    @Test
    void aRenamedHostCarriesItsReservationsOverAndLeaksNothing() throws Exception {
        start(HOST);
        String conf = net("hn", "10.60.0.0/24", 2);
        String c1 = ip(host.call("ADD", "c1", "eth0", conf));
        await("the pool is full", () -> poolOnGrid(HOST, "hn").size() == 2);
        awaitNothingPending();
        host.stop();
        host = new TestHost(grid, dir.resolve("h"), "host-b").start(); // the same state directory, renamed
        await(
                "the reservations carry the new name",
                () -> poolOnGrid("host-b", "hn").size() == 2);
        assertEquals("infoblox-cni host=host-b net=hn if=eth0", holderOf(c1).get("comment"));
        assertTrue(poolOnGrid(HOST, "hn").isEmpty());
        Path hostIdFile = dir.resolve("h").resolve("state").resolve(HostIdentity.FILE);
        await("the rename is done", () -> {
            try {
                return Files.readString(hostIdFile).equals("host-b\n");
            } catch (java.io.IOException e) {
                return false;
            }
        });

        String c2 = ip(host.call("ADD", "c2", "eth0", conf));
        assertEquals("c2", TestHost.ea(holderOf(c2), "VM ID"), "a carried-over pool address is given out, no conflict");
        await("the pool is refilled after c2's ADD", () -> poolInJournal("hn").size() == 2);
        awaitNothingPending();
        JournalAudit.Report forgot = host.audit(null, true, HOST);
        assertTrue(forgot.findings().isEmpty(), "nothing of the old name is left to forget: " + forgot);
        assertNotNull(holderOf(c1));
        assertTrue(host.call("DEL", "c1", "eth0", conf).ok());
        host.awaitSettled();
        awaitNothingPending();
        assertTrue(TestHost.reservationsOf(grid, "c1").isEmpty(), "c1's reservation is let go, not leaked");
        assertTrue(
                fixed().stream().noneMatch(f -> String.valueOf(f.get("comment")).contains("host=" + HOST + " ")),
                "nothing on the grid names the old host");
    }

    /**
     * A network deleted on the grid (and with it every reservation in it): the pool kept handing
     * out its addresses, and a later POST recreated the network and gave an address a live
     * container holds to another container.
     */
    @Test
    void aNetworkDeletedOnTheGridIsMadeAgainWithItsLiveReservationsBeforeAnythingIsAllocated() throws Exception {
        start(HOST);
        String conf = net("dn", "10.61.0.0/24", 2);
        String c1 = ip(host.call("ADD", "c1", "eth0", conf));
        await("the pool is full", () -> poolOnGrid(HOST, "dn").size() == 2);
        awaitNothingPending();
        String networkRef = grid.objects("network").stream()
                .filter(n -> "10.61.0.0/24".equals(n.get("network")))
                .map(n -> String.valueOf(n.get("_ref")))
                .findFirst()
                .orElseThrow();
        grid.deleteObject(networkRef); // an operator's mistake; c1 keeps running with its address
        String c2 = ip(host.call("ADD", "c2", "eth0", conf));
        assertNotEquals(c1, c2);
        assertEquals("c2", TestHost.ea(holderOf(c2), "VM ID"));
        Map<String, Object> back = holderOf(c1);
        assertNotNull(back, "c1's address is reserved again before anything else is allocated");
        assertEquals("c1", TestHost.ea(back, "VM ID"));
        String c3 = ip(host.call("ADD", "c3", "eth0", conf));
        assertNotEquals(c1, c3, "never handed to another container");
    }

    /**
     * A DEL in the first seconds of an outage (before the daemon knows) stays DEL_PENDING; a
     * re-ADD of that container failed with 11 for the whole outage while new containers got pool
     * addresses. Its pending release goes on apart, and it gets a pool address too.
     */
    @Test
    void aContainerDeletedAtTheStartOfAnOutageIsAddedAgainFromThePool() throws Exception {
        start(HOST);
        String conf = net("on", "10.62.0.0/24", 2);
        String first = ip(host.call("ADD", "c1", "eth0", conf));
        await(
                "the pool is full and checked",
                () -> poolInJournal("on").stream()
                                .filter(a -> host.daemon().ipam().pool().isConfirmed("default", a))
                                .count()
                        == 2);
        awaitNothingPending();
        grid.faults().outage(true);
        assertTrue(host.call("DEL", "c1", "eth0", conf).ok());
        awaitKnownDown();
        var again = host.call("ADD", "c1", "eth0", conf);
        assertTrue(again.ok(), "added again from the pool: " + again);
        String second = ip(again);
        assertNotEquals(first, second, "not the address whose release is pending");
        grid.faults().outage(false);
        host.awaitGridUp();
        awaitNothingPending();
        assertTrue(
                holderOf(first) == null || !"c1".equals(TestHost.ea(holderOf(first), "VM ID")),
                "the earlier address is released once the grid is back (the pool may have it again)");
        assertEquals("c1", TestHost.ea(holderOf(second), "VM ID"), "the new one is tagged for c1");
        assertEquals(1, TestHost.reservationsOf(grid, "c1").size());
    }

    /**
     * A DEL during a slow grid waited for the container's tag still in flight (40 s with a hung
     * grid): the settlement held the attachment's lock across its grid call. A DEL is answered
     * once its intent is on disk.
     */
    @Test
    void aDelIsAnsweredAtOnceWhileTheContainersTagIsInFlight() throws Exception {
        host = new TestHost(grid, dir.resolve("h"), HOST);
        host.start(host.config(Duration.ofSeconds(10))); // a grid that answers in 3 s is slow, not down
        String conf = net("tn", "10.63.0.0/24", 2);
        ip(host.call("ADD", "warm", "eth0", conf));
        await(
                "the pool is full and checked",
                () -> poolInJournal("tn").stream()
                                .filter(a -> host.daemon().ipam().pool().isConfirmed("default", a))
                                .count()
                        == 2);
        awaitNothingPending();
        grid.faults().outage(true);
        awaitKnownDown();
        ip(host.call("ADD", "c1", "eth0", conf)); // from the pool, its tag to follow
        long requestsBefore = grid.requestCount("POST", "request");
        grid.faults().latency(Duration.ofSeconds(3)); // the grid comes back slow: the tag takes 3 s
        grid.faults().outage(false);
        await(
                "the tag is on its way to the grid",
                Duration.ofSeconds(30),
                () -> grid.requestCount("POST", "request") > requestsBefore);
        long t0 = System.nanoTime();
        assertTrue(host.call("DEL", "c1", "eth0", conf).ok());
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(ms < 1500, "the DEL did not wait for the tag in flight: " + ms + " ms");
        grid.faults().latency(Duration.ZERO);
        awaitNothingPending();
        assertTrue(TestHost.reservationsOf(grid, "c1").isEmpty(), "and c1 is released after its tag");
    }

    /**
     * A tag the grid refused (an EA it lacks) was retried for ever as "the reservation kept
     * changing", the grid's own text lost. It is answered with the grid's text, and the address
     * stays in the pool.
     */
    @Test
    void aTagTheGridRefusesIsAnsweredWithTheGridsTextAndTheAddressStaysInThePool() throws Exception {
        start(HOST);
        String conf = net("en", "10.64.0.0/24", 2);
        ip(host.call("ADD", "warm", "eth0", conf));
        await("the pool is full", () -> poolInJournal("en").size() == 2);
        awaitNothingPending();
        List<String> pooled = poolInJournal("en");
        grid.removeEa("VM Name");
        Map<String, String> env = TestHost.env("ADD", "pod1", "eth0");
        env.put("CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAME=web-1");
        var add = host.send(env, conf);
        assertEquals(CniError.GRID_REJECTED, add.code(), add.toString());
        assertTrue(add.msg().contains("Unknown extensible attribute: VM Name"), add.msg());
        // given back behind the answer
        await("the address is back in the pool", () -> poolInJournal("en").equals(pooled));
        awaitNothingPending();
        assertTrue(TestHost.reservationsOf(grid, "pod1").isEmpty());
    }

    /** GC of 3,000 stale attachments answered 11 after 20 s; a second GC ran past the plugin's 60 s. */
    @Test
    void gcOfThousandsOfStaleAttachmentsAnswersOnceTheirIntentsAreOnDisk() throws Exception {
        start(HOST);
        String conf = net("gn", "10.65.0.0/20", 0);
        ip(host.call("ADD", "keep", "eth0", conf));
        host.stop();
        int stale = 3000;
        try (Journal j = Journal.open(host.journalDir())) {
            for (int i = 0; i < stale; i++) {
                String ip = "10.65." + (1 + i / 250) + "." + (1 + i % 250);
                String id = "s" + i;
                String ref = grid.createObject(
                        "fixedaddress",
                        new LinkedHashMap<>(Map.of(
                                "ipv4addr",
                                ip,
                                "network_view",
                                "default",
                                "mac",
                                "00:00:00:00:00:00",
                                "comment",
                                "infoblox-cni host=" + HOST + " net=gn if=eth0",
                                "extattrs",
                                Map.of("VM ID", Map.of("value", id)))));
                j.put(Attachment.pending(new AttachmentKey("gn", id, "eth0"), "default", null, Instant.now())
                        .withAllocation(ip, 20, "10.65.0.1", ref, "10.65.0.0/20")
                        .withState(AttachmentState.ALLOCATED));
            }
        }
        host.start();
        String gc =
                conf.replace("}}", "},\"cni.dev/valid-attachments\":[{\"containerID\":\"keep\",\"ifname\":\"eth0\"}]}");
        long t0 = System.nanoTime();
        var answer = host.call("GC", null, null, gc);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(answer.ok(), answer.toString());
        assertTrue(ms < 10_000, "GC answered in " + ms + " ms");
        await(
                "every stale attachment is released",
                Duration.ofSeconds(120),
                () -> fixed().stream()
                        .noneMatch(f -> String.valueOf(TestHost.ea(f, "VM ID")).startsWith("s")));
        assertEquals(1, TestHost.reservationsOf(grid, "keep").size());
    }
}
