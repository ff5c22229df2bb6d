package infobloxcni.wapisim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SeedTest {
    static final String SEED = """
            {
              "extensibleattributedef": ["Cluster", {"name": "Rack", "type": "INTEGER"}],
              "networkview": [{"name": "cni_view", "extattrs": {"Cluster": {"value": "k1"}}}],
              "networkcontainer": [{"network": "172.18.0.0/16", "network_view": "cni_view"}],
              "network": [
                {"network": "172.18.0.0/24", "network_view": "cni_view",
                 "extattrs": {"Network Name": {"value": "pods"}, "Rack": {"value": 7}}},
                {"network": "func:nextavailablenetwork:172.18.0.0/16,cni_view,24", "network_view": "cni_view"}
              ],
              "fixedaddress": [
                {"ipv4addr": "172.18.0.1", "match_client": "RESERVED", "network_view": "cni_view", "comment": "gateway"},
                {"ipv4addr": "func:nextavailableip:172.18.0.0/24,cni_view", "mac": "aa:bb:cc:dd:ee:ff",
                 "network_view": "cni_view", "name": "pod-1"}
              ]
            }
            """;

    @Test
    void aSeedFileIsLoadedBeforeStartWithPostsRules(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("seed.json");
        Files.writeString(file, SEED);
        try (WapiSimulator sim = WapiSimulator.builder().seed(file).build().start()) {
            assertEquals(2, sim.objects("networkview").size());
            assertEquals(8, sim.objects("extensibleattributedef").size());
            assertEquals("172.18.1.0/24", sim.objects("network").get(1).get("network"));
            Map<String, Object> pod = sim.objects("fixedaddress").get(1);
            assertEquals("172.18.0.2", pod.get("ipv4addr"));
            assertEquals("pod-1", pod.get("name"));
            TestClient c = new TestClient(sim);
            assertEquals(
                    1,
                    c.get("network?" + TestClient.enc("*Network Name") + "=pods")
                            .json()
                            .size());
            assertEquals(0, sim.totalRequests() - 1, "seeding is not counted");
        }
    }

    @Test
    void aBadSeedFailsTheBuildNamingTheEntry() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> WapiSimulator.builder()
                        .seedJson("{\"network\": [{\"network\": \"10.0.0.0/24\", \"network_view\": \"nope\"}]}")
                        .build());
        assertTrue(e.getMessage().contains("network[0]") && e.getMessage().contains("nope"), e.getMessage());
        assertThrows(
                IllegalArgumentException.class,
                () -> WapiSimulator.builder().seedJson("{\"hosts\": []}").build());
        assertThrows(
                IllegalArgumentException.class,
                () -> WapiSimulator.builder()
                        .seedJson(
                                "{\"network\": [{\"network\": \"10.0.0.0/24\", \"extattrs\": {\"Rack\": {\"value\": 1}}}]}")
                        .build(),
                "EAs must be defined, in the seed too");
    }
}
