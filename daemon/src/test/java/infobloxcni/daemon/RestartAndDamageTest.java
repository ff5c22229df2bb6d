package infobloxcni.daemon;

import static infobloxcni.daemon.Eventually.await;
import static infobloxcni.daemon.TestHost.netconf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import infobloxcni.store.Attachment;
import infobloxcni.store.AttachmentKey;
import infobloxcni.store.AttachmentState;
import infobloxcni.store.Journal;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A restart in every intermediate state of the journal, and a journal damaged between runs:
 * the daemon must settle every pending intent against the grid and answer correctly after.
 */
class RestartAndDamageTest extends GridAndDaemonTest {
    private static final String NET = netconf("1.0.0", "net1", "\"subnet\":\"10.10.0.0/24\"");
    private static final Instant LONG_AGO = Instant.parse("2020-01-01T00:00:00Z");

    @BeforeEach
    void warmUp() {
        assertTrue(host.call("ADD", "warm", "eth0", NET).ok());
    }

    /** Stops the daemon, lets the test edit its journal directly, starts it again. */
    private void restartWith(java.util.function.Consumer<Journal> edit) throws Exception {
        host.stop();
        try (Journal journal = Journal.open(host.journalDir())) {
            edit.accept(journal);
        }
        host.start();
    }

    private java.util.Optional<Attachment> record(String containerId) {
        return host.daemon().ipam().journal().get(new AttachmentKey("net1", containerId, "eth0"));
    }

    /** A reservation as an earlier run of this host would have made it, answer lost. */
    private String reserveBehindTheDaemonsBack(String containerId, String ip) {
        return TestHost.reserveBehindTheDaemonsBack(grid, "host-a", containerId, ip);
    }

    @Test
    void addPendingWithAReservationOnTheGridIsAdopted() throws Exception {
        reserveBehindTheDaemonsBack("c1", "10.10.0.77");
        restartWith(j -> j.put(Attachment.pending(new AttachmentKey("net1", "c1", "eth0"), "default", null, LONG_AGO)
                .withUpdated(LONG_AGO)));
        await(
                "the pending ADD is settled",
                () -> record("c1")
                        .map(a -> a.state() == AttachmentState.ALLOCATED)
                        .orElse(false));
        grid.resetCounters();
        var add = host.call("ADD", "c1", "eth0", NET);
        assertEquals("10.10.0.77/24", add.address(), "the runtime's retry gets the adopted address");
        assertEquals(0, grid.requestCount("POST", "fixedaddress"));
        assertEquals(1, reservationsOf("c1").size());
    }

    @Test
    void addPendingWithNothingOnTheGridIsDropped() throws Exception {
        restartWith(j -> j.put(Attachment.pending(new AttachmentKey("net1", "c1", "eth0"), "default", null, LONG_AGO)
                .withUpdated(LONG_AGO)));
        await("the pending ADD is dropped", () -> record("c1").isEmpty());
        assertEquals(0, reservationsOf("c1").size());
    }

    @Test
    void aFreshAddPendingIsLeftToTheRetryWhichLooksBeforeAllocating() throws Exception {
        reserveBehindTheDaemonsBack("c1", "10.10.0.78");
        restartWith(j ->
                j.put(Attachment.pending(new AttachmentKey("net1", "c1", "eth0"), "default", null, Instant.now())));
        var add = host.call("ADD", "c1", "eth0", NET);
        assertEquals("10.10.0.78/24", add.address());
        assertEquals(1, reservationsOf("c1").size(), "no second reservation");
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void delPendingIsReleasedAfterRestart(boolean refKnown) throws Exception {
        String ref = reserveBehindTheDaemonsBack("c1", "10.10.0.79");
        restartWith(j -> j.put(Attachment.pending(new AttachmentKey("net1", "c1", "eth0"), "default", null, LONG_AGO)
                .withAllocation("10.10.0.79", 24, "10.10.0.1", refKnown ? ref : null, "10.10.0.0/24")
                .withState(AttachmentState.DEL_PENDING)));
        await(
                "the pending release is done",
                () -> reservationsOf("c1").isEmpty() && record("c1").isEmpty());
    }

    @Test
    void delWhileTheGridIsDownSucceedsAndIsReplayedWhenItComesBack() throws Exception {
        assertTrue(host.call("ADD", "c1", "eth0", NET).ok());
        grid.faults().outage(true);
        var del = host.call("DEL", "c1", "eth0", NET);
        assertTrue(del.ok(), "the runtime is told the DEL succeeded: " + del);
        assertEquals(AttachmentState.DEL_PENDING, record("c1").orElseThrow().state());
        grid.faults().outage(false);
        await(
                "the release is replayed",
                () -> reservationsOf("c1").isEmpty() && record("c1").isEmpty());
    }

    @Test
    void aDelPendingSurvivesARestartDuringTheOutage() throws Exception {
        assertTrue(host.call("ADD", "c1", "eth0", NET).ok());
        grid.faults().outage(true);
        assertTrue(host.call("DEL", "c1", "eth0", NET).ok());
        host.stop();
        host.start();
        assertEquals(AttachmentState.DEL_PENDING, record("c1").orElseThrow().state());
        grid.faults().outage(false);
        await(
                "the release is replayed after restart",
                () -> reservationsOf("c1").isEmpty() && record("c1").isEmpty());
    }

    @Test
    void anAddOfAContainerWhoseDelIsStillPendingReleasesFirst() throws Exception {
        String first = host.call("ADD", "c1", "eth0", NET).address();
        grid.faults().outage(true);
        assertTrue(host.call("DEL", "c1", "eth0", NET).ok());
        // the DEL is answered with no grid call; its release behind the answer meets the outage. Waited
        // for: had it met it only after the outage ended, the daemon would call the grid down then, and
        // the ADD below fail at once (11) in the second before its probe saw the grid back.
        await("the release met the outage", () -> host.daemon().gridHealth().failingFast());
        grid.faults().outage(false);
        host.awaitGridUp();
        var again = host.call("ADD", "c1", "eth0", NET);
        assertTrue(again.ok(), again.toString());
        assertEquals(
                1,
                reservationsOf("c1").size(),
                "old reservation released before the new one: " + first + " -> " + again.address());
    }

    @Test
    void anAcknowledgedAddLostByTheJournalIsAdoptedAtStartNotDuplicated() throws Exception {
        String address = host.call("ADD", "c1", "eth0", NET).address();
        // As if the last records never reached the disk: the journal forgets c1.
        restartWith(j -> j.remove(new AttachmentKey("net1", "c1", "eth0")));
        var again = host.call("ADD", "c1", "eth0", NET);
        assertEquals(address, again.address());
        assertEquals(1, reservationsOf("c1").size());
    }

    /** A libcni cache entry, as a runtime leaves it in /var/lib/cni/results. */
    private void cacheEntry(String network, String containerId, String ipamType, String address) throws Exception {
        String config = "{\"cniVersion\":\"1.0.0\",\"name\":\"" + network
                + "\",\"type\":\"bridge\",\"ipam\":{\"type\":\"" + ipamType + "\"}}";
        String entry = "{\"kind\":\"cniCacheV1\",\"containerId\":\"" + containerId
                + "\",\"ifName\":\"eth0\",\"networkName\":\"" + network
                + "\",\"config\":\"" + java.util.Base64.getEncoder().encodeToString(config.getBytes())
                + "\",\"result\":{\"cniVersion\":\"1.0.0\","
                + "\"ips\":[{\"address\":\"" + address + "/24\",\"gateway\":\"10.10.0.1\"}]}}";
        Path cache = host.config().cniCacheDir();
        Files.createDirectories(cache);
        Files.writeString(cache.resolve(network + "-" + containerId + "-eth0"), entry);
    }

    @Test
    void theOriginalDriversReservationOfALiveContainerIsAdoptedFromTheCniCache() throws Exception {
        // the original driver's reservation: its cloud EAs, no comment naming a host
        grid.createObject(
                "fixedaddress",
                Map.of(
                        "ipv4addr",
                        "10.10.0.90",
                        "network_view",
                        "default",
                        "mac",
                        "00:00:00:00:00:00",
                        "extattrs",
                        TestHost.originalDriversEas("legacy")));
        cacheEntry("net1", "legacy", "infoblox", "10.10.0.90");
        for (int i = 0; i < 5; i++) cacheEntry("other-net", "hl" + i, "host-local", "10.99.0." + (10 + i));
        host.stop();
        grid.resetCounters();
        host.start();
        await("the CNI cache entry is adopted", () -> record("legacy").isPresent());
        assertEquals(
                2,
                grid.requestCount("GET", "fixedaddress"),
                "one search for this host's reservations, one for the cached "
                        + "infoblox attachment; none for host-local's: " + grid.requestLog());
        var add = host.call("ADD", "legacy", "eth0", NET);
        assertEquals("10.10.0.90/24", add.address(), "adopted, not duplicated");
        assertEquals("10.10.0.1", add.json().path("ips").path(0).path("gateway").asText());
        assertEquals(0, grid.requestCount("POST", "fixedaddress"));
    }

    /**
     * The journal lost an attachment whose address the grid holds for nobody (answered from the
     * pool in an outage, its pool entry deleted by an operator, then kill -9 and the journal
     * lost: the adversarial test's seed 1): only the runtime's CNI cache still says the container
     * uses it. The merge left it out, and the next ADD of another container was handed the same
     * address. Now it is adopted as answered before its tag and reserved again for the container.
     */
    @Test
    void aCachedAddressTheGridHoldsForNobodyIsReservedAgainForItsContainer() throws Exception {
        cacheEntry("net1", "c39", "infoblox", "10.10.0.60");
        restartWith(j -> {});
        await(
                "10.10.0.60 reserved again for c39",
                () -> reservationsOf("c39").stream().anyMatch(r -> "10.10.0.60".equals(r.get("ipv4addr"))));
        assertTrue(
                record("c39")
                        .map(a -> a.state() == infobloxcni.store.AttachmentState.ALLOCATED)
                        .orElse(false),
                String.valueOf(record("c39")));
        var other = host.call("ADD", "c44", "eth0", NET);
        assertTrue(other.ok(), other.toString());
        assertTrue(!other.address().startsWith("10.10.0.60/"), "not handed to another container: " + other);
        assertTrue(host.call("CHECK", "c39", "eth0", TestHost.withPrevResult(NET, resultOf("10.10.0.60")))
                .ok());
    }

    /** Two cache entries name an address the grid holds for nobody: the newer's; the older (a stale entry) gets nothing. */
    @Test
    void ofTwoCachedClaimsOnAnAddressTheNewerIsReservedAgain() throws Exception {
        cacheEntry("net1", "zz-old", "infoblox", "10.10.0.70");
        Files.setLastModifiedTime(
                host.config().cniCacheDir().resolve("net1-zz-old-eth0"),
                java.nio.file.attribute.FileTime.from(LONG_AGO));
        cacheEntry("net1", "aa-new", "infoblox", "10.10.0.70");
        restartWith(j -> {});
        await(
                "10.10.0.70 reserved again for aa-new",
                () -> reservationsOf("aa-new").stream().anyMatch(r -> "10.10.0.70".equals(r.get("ipv4addr"))));
        assertTrue(reservationsOf("zz-old").isEmpty());
        assertTrue(record("zz-old").isEmpty(), "the stale entry is left to the runtime's GC and the audit");
    }

    private static String resultOf(String address) {
        return "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"" + address + "/24\",\"gateway\":\"10.10.0.1\"}]}";
    }

    enum Damage {
        FLIP_BYTES,
        ZERO_PAGE,
        TRUNCATE,
        /** Cut inside its header: used to be deleted as a half-created log, its records (pending DELs too) with it. */
        CUT_TO_TEN_BYTES,
        GARBAGE_FILE
    }

    @ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(Damage.class)
    void aDamagedJournalIsMovedAsideAndRebuiltFromTheGrid(Damage damage) throws Exception {
        for (int i = 0; i < 20; i++)
            assertTrue(host.call("ADD", "d" + i, "eth0", NET).ok());
        String address = host.call("ADD", "d7", "eth0", NET).address();
        host.stop();
        Path log = newestLog();
        long size = Files.size(log);
        try (RandomAccessFile f = new RandomAccessFile(log.toFile(), "rw")) {
            switch (damage) {
                case FLIP_BYTES -> {
                    f.seek(size / 2);
                    int b = f.read();
                    f.seek(size / 2);
                    f.write(b ^ 0x5A);
                    f.seek(size / 3);
                    f.write(0xFF);
                }
                case ZERO_PAGE -> {
                    f.seek(Math.max(0, size / 2 - 2048));
                    f.write(new byte[(int) Math.min(4096, size / 2)]);
                }
                case TRUNCATE -> f.setLength(size / 2);
                case CUT_TO_TEN_BYTES -> f.setLength(10);
                case GARBAGE_FILE -> {
                    f.seek(0);
                    f.write("this is not a journal at all".getBytes());
                }
            }
        }
        host.start();
        await("the journal is merged with the grid", () -> record("d7").isPresent());
        grid.resetCounters();
        for (int i = 0; i < 20; i++)
            assertTrue(host.call("ADD", "d" + i, "eth0", NET).ok());
        assertEquals(address, host.call("ADD", "d7", "eth0", NET).address(), "same answer as before the damage");
        assertEquals(0, grid.requestCount("POST", "fixedaddress"), "nothing allocated twice");
        assertTrue(host.call("DEL", "d3", "eth0", NET).ok());
        host.awaitSettled();
        assertEquals(0, reservationsOf("d3").size());
        if (damage != Damage.TRUNCATE) {
            assertTrue(host.daemon().journalQuarantines() > 0, "the damaged journal was moved aside");
            try (Stream<Path> files = Files.list(host.journalDir())) {
                assertTrue(
                        files.anyMatch(p -> p.getFileName().toString().startsWith("corrupt-")), "kept for forensics");
            }
        }
    }

    private Path newestLog() throws Exception {
        try (Stream<Path> files = Files.list(host.journalDir())) {
            List<Path> logs = files.filter(p -> p.getFileName().toString().startsWith("log-"))
                    .sorted()
                    .toList();
            assertFalse(logs.isEmpty(), "journal has a log file");
            return logs.getLast();
        }
    }
}
