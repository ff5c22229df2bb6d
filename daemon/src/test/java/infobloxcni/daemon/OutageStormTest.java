package infobloxcni.daemon;

import static infobloxcni.daemon.Eventually.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import infobloxcni.daemon.cni.NetConf;
import infobloxcni.wapisim.WapiSimulator;
import infobloxcni.wire.CniError;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * An outage storm through the real plugin ({@code bin/infoblox}, one JVM per call): workers add
 * and delete containers concurrently while the grid goes away for a few seconds and comes back,
 * for each kind of outage. Afterwards nothing may be leaked or doubled, every queued tag and
 * release must have been replayed, and every live container must hold exactly one reservation
 * tagged with its {@code VM ID}. How long ADD and DEL took during the outage is printed (a
 * report, not an assertion).
 */
class OutageStormTest {
    private static final String NETWORK = "storm";
    private static final int WORKERS = 3;
    private static final Duration BEFORE = Duration.ofSeconds(2);
    private static final Duration OUTAGE = Duration.ofSeconds(5);
    private static final Duration AFTER = Duration.ofSeconds(2);

    enum Kind {
        REFUSED,
        HUNG,
        DROPPED_MID_ANSWER
    }

    @TempDir
    Path dir;

    private WapiSimulator grid;
    private TestHost host;
    private Path plugin;
    private String netconf;

    @AfterEach
    void stop() {
        if (grid != null) grid.faults().reset();
        if (host != null) host.close();
        if (grid != null) grid.close();
    }

    private void outage(Kind kind, boolean on) {
        switch (kind) {
            case REFUSED -> grid.faults().outage(on);
            case HUNG -> grid.faults().hang(on);
            case DROPPED_MID_ANSWER -> grid.faults().dropAfterApplyingNext(on ? Integer.MAX_VALUE : 0, null);
        }
    }

    record Call(int exit, int code, long millis, boolean duringOutage) {}

    private Call plugin(String command, String containerId, AtomicBoolean inOutage) {
        Map<String, String> env = Map.of(
                "CNI_COMMAND",
                command,
                "CNI_CONTAINERID",
                containerId,
                "CNI_IFNAME",
                "eth0",
                "CNI_NETNS",
                "/nonexistent",
                "CNI_PATH",
                plugin.getParent().toString());
        boolean during = inOutage.get();
        long t0 = System.nanoTime();
        ExternalCommand.Result r = ExternalCommand.run(Duration.ofSeconds(60), env, netconf, plugin.toString());
        long ms = (System.nanoTime() - t0) / 1_000_000;
        int code = 0;
        if (r.exit() != 0) {
            try {
                code = NetConf.JSON.readTree(r.stdout()).path("code").asInt(-1);
            } catch (IOException e) {
                code = -1;
            }
        }
        return new Call(r.exit(), code, ms, during || inOutage.get());
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void containersKeepStartingThroughAnOutageAndTheGridMatchesThemAfter(Kind kind) throws Exception {
        grid = TestHost.startGrid();
        host = new TestHost(grid, dir, "storm-host").poolSize(0).start();
        plugin = DaemonCrashTest.findPlugin();
        netconf = "{\"cniVersion\":\"1.1.0\",\"name\":\"" + NETWORK
                + "\",\"type\":\"bridge\",\"ipam\":{\"type\":\"infoblox\","
                + "\"subnet\":\"10.55.0.0/24\",\"pool-size\":6,\"socket-dir\":\""
                + host.socket().getParent() + "\",\"daemon-timeout\":20}}";
        AtomicBoolean inOutage = new AtomicBoolean();
        assertEquals(0, plugin("ADD", "seed", inOutage).exit());
        await(
                "the pool is full",
                Duration.ofSeconds(20),
                () -> host.status().path("pools").path(NETWORK).path("free").asInt() == 6);

        Set<String> live = ConcurrentHashMap.newKeySet();
        live.add("seed");
        List<Call> adds = new CopyOnWriteArrayList<>();
        List<Call> dels = new CopyOnWriteArrayList<>();
        AtomicInteger names = new AtomicInteger();
        AtomicBoolean stop = new AtomicBoolean();
        ExecutorService pool = Executors.newFixedThreadPool(WORKERS);
        List<Future<?>> workers = new ArrayList<>();
        for (int w = 0; w < WORKERS; w++) {
            Random rnd = new Random(w);
            workers.add(pool.submit(() -> {
                while (!stop.get()) {
                    List<String> present = new ArrayList<>(live);
                    if (!present.isEmpty() && rnd.nextInt(3) == 0) {
                        String victim = present.get(rnd.nextInt(present.size()));
                        if (!live.remove(victim)) continue;
                        Call del = plugin("DEL", victim, inOutage);
                        dels.add(del);
                        assertEquals(0, del.exit(), "a DEL always succeeds (queued when the grid is away)");
                    } else {
                        String id = "s" + names.incrementAndGet();
                        Call add = plugin("ADD", id, inOutage);
                        adds.add(add);
                        if (add.exit() == 0) {
                            live.add(id);
                        } else {
                            assertEquals(
                                    CniError.TRY_AGAIN_LATER,
                                    add.code(),
                                    "an ADD that cannot be served says try again");
                            assertEquals(0, plugin("DEL", id, inOutage).exit(), "the runtime DELs a failed ADD");
                        }
                    }
                }
                return null;
            }));
        }
        Thread.sleep(BEFORE.toMillis());
        inOutage.set(true);
        outage(kind, true);
        Thread.sleep(OUTAGE.toMillis());
        outage(kind, false);
        inOutage.set(false);
        Thread.sleep(AFTER.toMillis());
        stop.set(true);
        for (Future<?> f : workers) f.get(2, TimeUnit.MINUTES);
        pool.shutdown();

        host.awaitGridUp();
        await("every queued tag, return and release is replayed", Duration.ofSeconds(60), () -> {
            JsonNode states = host.status().path("journal");
            return !states.has("TAG_PENDING")
                    && !states.has("RETURN_PENDING")
                    && !states.has("DEL_PENDING")
                    && !states.has("POOL_PENDING")
                    && !states.has("ADD_PENDING");
        });
        await(
                "the pool is back at its target",
                Duration.ofSeconds(30),
                () -> host.status().path("pools").path(NETWORK).path("free").asInt() == 6);

        // the truth: every live container once, tagged; nothing else but the pool and the gateway
        Set<String> seen = new HashSet<>();
        Map<String, Integer> byContainer = new java.util.HashMap<>();
        for (Map<String, Object> f : grid.objects("fixedaddress")) {
            assertTrue(seen.add(String.valueOf(f.get("ipv4addr"))), "address held twice: " + f);
            String vm = TestHost.ea(f, "VM ID");
            if (vm == null) {
                assertEquals(
                        "infoblox-cni host=storm-host net=" + NETWORK + " pool",
                        f.get("comment"),
                        "no VM ID: a pool address: " + f);
                continue;
            }
            if (vm.equals("N/A")) continue;
            assertTrue(live.contains(vm), "LEAK: " + vm + " is not live but the grid holds " + f);
            assertEquals(
                    "infoblox-cni host=storm-host net=" + NETWORK + " if=eth0",
                    f.get("comment"),
                    "tagged with its owner: " + f);
            byContainer.merge(vm, 1, Integer::sum);
        }
        for (String c : live) assertEquals(1, byContainer.getOrDefault(c, 0), "LOST or doubled: " + c);

        System.out.println(kind + " outage of " + OUTAGE.toSeconds() + " s: " + summary("ADD", adds) + "; "
                + summary("DEL", dels) + "; live at the end " + live.size());
    }

    private static String summary(String verb, List<Call> calls) {
        List<Long> during = new ArrayList<>();
        int ok = 0;
        int failed = 0;
        for (Call c : calls) {
            if (!c.duringOutage()) continue;
            during.add(c.millis());
            if (c.exit() == 0) ok++;
            else failed++;
        }
        Collections.sort(during);
        if (during.isEmpty()) return verb + " none during the outage";
        return verb + " during the outage: " + during.size() + " (" + ok + " ok, " + failed + " try-again), p50 "
                + during.get(during.size() / 2) + " ms, max " + during.getLast() + " ms";
    }
}
