package infobloxcni.wapisim;

import static infobloxcni.wapisim.TestClient.enc;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Create, search, get, update and delete over HTTP, with the grid's shapes and errors. */
class CrudTest {
    WapiSimulator sim;
    TestClient c;

    @BeforeEach
    void start() {
        sim = WapiSimulator.builder().build().start();
        c = new TestClient(sim);
    }

    @AfterEach
    void stop() {
        sim.close();
    }

    private static List<String> fieldNames(JsonNode o) {
        List<String> names = new ArrayList<>();
        o.fieldNames().forEachRemaining(names::add);
        return names;
    }

    @Test
    void networkViewLifecycle() throws Exception {
        String ref = c.create("networkview", "{\"name\":\"cni_view\",\"comment\":\"pods\"}");
        assertTrue(ref.matches("networkview/[A-Za-z0-9_-]+:cni_view/false"), ref);
        JsonNode got = c.get(ref).json();
        assertEquals(List.of("_ref", "name", "is_default"), fieldNames(got));
        assertEquals(ref, got.get("_ref").asText());
        assertFalse(got.get("is_default").asBoolean());

        TestClient.Resp dup = c.post("networkview", "{\"name\":\"cni_view\"}");
        assertEquals(400, dup.status());
        assertEquals("Client.Ibap.Data.Conflict", dup.code());
        assertTrue(
                dup.json()
                        .get("Error")
                        .asText()
                        .startsWith("AdmConDataError: None (IBDataConflictError: IB.Data.Conflict:"),
                dup.body());

        JsonNode search =
                c.get("networkview?name=cni_view&_return_fields%2B=comment").json();
        assertEquals(1, search.size());
        assertEquals("pods", search.get(0).get("comment").asText());

        TestClient.Resp put = c.put(ref, "{\"comment\":\"renamed\",\"name\":\"k8s_view\"}");
        assertEquals(200, put.status(), put.body());
        String newRef = put.json().asText();
        assertTrue(newRef.endsWith(":k8s_view/false"), newRef);
        assertEquals(ref.substring(0, ref.indexOf(':')), newRef.substring(0, newRef.indexOf(':')), "opaque id kept");

        TestClient.Resp del = c.delete(newRef);
        assertEquals(200, del.status());
        assertEquals(newRef, del.json().asText());
        assertEquals(404, c.get(newRef).status());
        assertEquals(1, sim.objects("networkview").size());
        TestClient.Resp delDefault =
                c.delete(sim.objects("networkview").getFirst().get("_ref").toString());
        assertEquals(400, delDefault.status());
    }

    @Test
    void networkCreateGetSearchAndReturnFields() throws Exception {
        String ref = c.create(
                "network",
                "{\"network\":\"10.0.0.0/24\",\"network_view\":\"default\","
                        + "\"comment\":\"pods\",\"extattrs\":{\"Network Name\":{\"value\":\"pod-net\"}}}");
        assertTrue(ref.matches("network/[A-Za-z0-9_-]+:10\\.0\\.0\\.0/24/default"), ref);

        JsonNode dflt = c.get("network?network=10.0.0.0/24").json().get(0);
        assertEquals(List.of("_ref", "network", "network_view", "comment"), fieldNames(dflt));

        JsonNode exact = c.get("network?network_view=default&_return_fields=extattrs")
                .json()
                .get(0);
        assertEquals(List.of("_ref", "extattrs"), fieldNames(exact));
        assertEquals(
                "pod-net",
                exact.get("extattrs").get("Network Name").get("value").asText());

        JsonNode plus =
                c.get(ref + "?_return_fields%2B=extattrs,network_container").json();
        assertEquals(
                List.of("_ref", "network", "network_view", "comment", "extattrs", "network_container"),
                fieldNames(plus));
        assertEquals("/", plus.get("network_container").asText());

        JsonNode byEa = c.get("network?" + enc("*Network Name") + "=pod-net").json();
        assertEquals(1, byEa.size());
        assertEquals(
                0, c.get("network?" + enc("*Network Name") + "=other").json().size());
        assertEquals(0, c.get("network?network=10.0.1.0/24").json().size());

        TestClient.Resp created = c.post(
                "network?_return_fields=network,comment", "{\"network\":\"10.0.1.0/24\",\"comment\":\"second\"}");
        assertEquals(201, created.status());
        assertEquals(List.of("_ref", "network", "comment"), fieldNames(created.json()));

        TestClient.Resp badField = c.get("network?_return_fields=nonsense");
        assertEquals(400, badField.status());
        assertEquals("Client.Ibap.Proto", badField.code());
    }

    @Test
    void maxResultsAndReturnAsObject() throws Exception {
        for (int i = 0; i < 5; i++) c.create("network", "{\"network\":\"10.0." + i + ".0/24\"}");
        JsonNode three = c.get("network?_max_results=3").json();
        assertEquals(3, three.size());
        assertEquals("10.0.0.0/24", three.get(0).get("network").asText(), "creation order");
        assertEquals("10.0.2.0/24", three.get(2).get("network").asText());
        assertEquals(5, c.get("network?_max_results=-5").json().size());
        TestClient.Resp tooMany = c.get("network?_max_results=-4");
        assertEquals(400, tooMany.status());
        assertTrue(tooMany.text().contains("Result set too large (> 4)"), tooMany.body());

        JsonNode wrapped = c.get("network?_return_as_object=1&_max_results=2").json();
        assertEquals(2, wrapped.get("result").size());
        JsonNode wrappedGet = c.get(wrapped.get("result").get(0).get("_ref").asText() + "?_return_as_object=1")
                .json();
        assertEquals("10.0.0.0/24", wrappedGet.get("result").get("network").asText());
        JsonNode wrappedPost =
                c.post("networkview?_return_as_object=1", "{\"name\":\"v2\"}").json();
        assertTrue(wrappedPost.get("result").asText().startsWith("networkview/"));
    }

    @Test
    void pagingWalksTheWholeResultSet() throws Exception {
        for (int i = 0; i < 5; i++) c.create("network", "{\"network\":\"10.1." + i + ".0/24\"}");
        JsonNode p1 =
                c.get("network?_paging=1&_return_as_object=1&_max_results=2").json();
        assertEquals(2, p1.get("result").size());
        String id = p1.get("next_page_id").asText();
        JsonNode p2 = c.get("network?_page_id=" + id).json();
        assertEquals("10.1.2.0/24", p2.get("result").get(0).get("network").asText());
        JsonNode p3 =
                c.get("network?_page_id=" + p2.get("next_page_id").asText()).json();
        assertEquals(1, p3.get("result").size());
        assertTrue(p3.path("next_page_id").isMissingNode());
        assertEquals(400, c.get("network?_paging=1&_max_results=2").status(), "paging needs _return_as_object");
    }

    @Test
    void fixedAddressCrudSearchAndEas() throws Exception {
        c.create("networkview", "{\"name\":\"cni_view\"}");
        c.create("network", "{\"network\":\"10.0.0.0/24\",\"network_view\":\"cni_view\"}");
        String ref = c.create(
                "fixedaddress",
                "{\"ipv4addr\":\"10.0.0.5\",\"mac\":\"AA:BB:CC:DD:EE:01\","
                        + "\"name\":\"pod-a\",\"network_view\":\"cni_view\",\"comment\":\"web\","
                        + "\"extattrs\":{\"VM ID\":{\"value\":\"c-1\"},\"CMP Type\":{\"value\":\"Kubernetes\"}}}");
        assertTrue(ref.matches("fixedaddress/[A-Za-z0-9_-]+:10\\.0\\.0\\.5/cni_view"), ref);
        c.create(
                "fixedaddress",
                "{\"ipv4addr\":\"10.0.0.6\",\"mac\":\"aa:bb:cc:dd:ee:02\",\"name\":\"pod-b\","
                        + "\"network_view\":\"cni_view\",\"extattrs\":{\"VM ID\":{\"value\":\"c-2\"}}}");

        JsonNode dflt = c.get(ref).json();
        assertEquals(List.of("_ref", "ipv4addr", "mac", "network_view"), fieldNames(dflt));
        assertEquals("aa:bb:cc:dd:ee:01", dflt.get("mac").asText(), "MACs are stored lower-case");

        JsonNode all = c.get(
                        ref + "?_return_fields=ipv4addr,mac,name,comment,network,network_view,match_client,extattrs")
                .json();
        assertEquals("10.0.0.0/24", all.get("network").asText());
        assertEquals("MAC_ADDRESS", all.get("match_client").asText());
        assertEquals(
                "Kubernetes", all.get("extattrs").get("CMP Type").get("value").asText());

        assertEquals(1, c.get("fixedaddress?mac=aa:bb:cc:dd:ee:01").json().size());
        assertEquals(1, c.get("fixedaddress?mac=AA:BB:CC:DD:EE:01").json().size());
        assertEquals(
                2,
                c.get("fixedaddress?network=10.0.0.0/24&network_view=cni_view")
                        .json()
                        .size());
        assertEquals(0, c.get("fixedaddress?network_view=default").json().size());
        assertEquals(1, c.get("fixedaddress?ipv4addr=10.0.0.6").json().size());
        assertEquals(1, c.get("fixedaddress?name=pod-a&comment=web").json().size());
        assertEquals(
                1,
                c.get("fixedaddress?match_client=MAC_ADDRESS&name=pod-b").json().size());

        // EA search: a name with a space, AND-ed with another condition
        assertEquals(
                "10.0.0.6",
                c.get("fixedaddress?" + enc("*VM ID") + "=c-2")
                        .json()
                        .get(0)
                        .get("ipv4addr")
                        .asText());
        assertEquals(
                0,
                c.get("fixedaddress?" + enc("*VM ID") + "=c-2&name=pod-a")
                        .json()
                        .size());
        assertEquals(
                1,
                c.get("fixedaddress?" + enc("*VM ID") + "=c-1&" + enc("*CMP Type") + "=Kubernetes")
                        .json()
                        .size());
        assertEquals(
                2,
                c.get("fixedaddress?" + enc("*VM ID~") + "=" + enc("^c-"))
                        .json()
                        .size());

        // regex search on name and comment
        assertEquals(2, c.get("fixedaddress?name~=" + enc("^pod-")).json().size());
        JsonNode b = c.get("fixedaddress?name~=" + enc("-b$")).json();
        assertEquals(1, b.size());
        assertEquals("10.0.0.6", b.get(0).get("ipv4addr").asText());
        assertEquals(1, c.get("fixedaddress?comment~=we").json().size());
        assertEquals(1, c.get("fixedaddress?name:=POD-A").json().size(), "':=' ignores case");
        assertEquals(400, c.get("fixedaddress?name~=" + enc("(")).status());

        // unknown EA in a search: the grid's Proto error
        TestClient.Resp unknownEa = c.get("fixedaddress?" + enc("*Nope") + "=1");
        assertEquals(400, unknownEa.status());
        assertEquals("Client.Ibap.Proto", unknownEa.code());
        assertTrue(unknownEa.text().contains("Nope"), unknownEa.body());
        assertEquals(400, c.get("fixedaddress?bogus_field=1").status());

        // update: plain fields, extattrs replace / merge / remove
        TestClient.Resp put = c.put(
                ref + "?_return_fields=name,mac,extattrs",
                "{\"name\":\"pod-a2\",\"mac\":\"aa:bb:cc:dd:ee:99\",\"extattrs+\":{\"Tenant ID\":{\"value\":\"t1\"}}}");
        assertEquals(200, put.status(), put.body());
        assertEquals("pod-a2", put.json().get("name").asText());
        assertEquals(3, put.json().get("extattrs").size());
        JsonNode removed = c.put(ref + "?_return_fields=extattrs", "{\"extattrs-\":{\"CMP Type\":{}}}")
                .json();
        assertEquals(List.of("VM ID", "Tenant ID"), fieldNames(removed.get("extattrs")));
        JsonNode replaced = c.put(ref + "?_return_fields=extattrs", "{\"extattrs\":{\"VM Name\":{\"value\":\"n\"}}}")
                .json();
        assertEquals(List.of("VM Name"), fieldNames(replaced.get("extattrs")));
        String plainPut = c.put(ref, "{\"comment\":\"x\"}").json().asText();
        assertEquals(ref, plainPut);
        TestClient.Resp undefinedEa = c.put(ref, "{\"extattrs+\":{\"Foo\":{\"value\":\"1\"}}}");
        assertEquals(400, undefinedEa.status());
        assertEquals("Unknown extensible attribute: Foo", undefinedEa.text());

        TestClient.Resp del = c.delete(ref);
        assertEquals(ref, del.json().asText());
        TestClient.Resp gone = c.get(ref);
        assertEquals(404, gone.status());
        assertEquals("Client.Ibap.Data.NotFound", gone.code());
        assertEquals(404, c.delete(ref).status());
        assertEquals(404, c.put(ref, "{\"comment\":\"x\"}").status());
        assertEquals(1, sim.objects("fixedaddress").size());
    }

    @Test
    void fixedAddressValidation() throws Exception {
        c.create("network", "{\"network\":\"10.0.0.0/24\"}");
        c.create("fixedaddress", "{\"ipv4addr\":\"10.0.0.5\",\"mac\":\"aa:bb:cc:dd:ee:01\"}");

        TestClient.Resp dup = c.post("fixedaddress", "{\"ipv4addr\":\"10.0.0.5\",\"mac\":\"aa:bb:cc:dd:ee:02\"}");
        assertEquals(400, dup.status());
        assertEquals("Client.Ibap.Data.Conflict", dup.code());
        assertEquals("Fixed address 10.0.0.5 already exists", dup.text());

        TestClient.Resp outside = c.post("fixedaddress", "{\"ipv4addr\":\"10.9.9.9\",\"mac\":\"aa:bb:cc:dd:ee:02\"}");
        assertEquals(400, outside.status());
        assertTrue(outside.text().startsWith("Cannot find network for address 10.9.9.9"), outside.body());

        TestClient.Resp wrongView = c.post(
                "fixedaddress", "{\"ipv4addr\":\"10.0.0.7\",\"mac\":\"aa:bb:cc:dd:ee:02\",\"network_view\":\"nope\"}");
        assertEquals(404, wrongView.status(), "a grid answers a missing view AdmConDataNotFoundError, 404");
        assertEquals("Network View nope not found", wrongView.text(), wrongView.body());

        TestClient.Resp badMac = c.post("fixedaddress", "{\"ipv4addr\":\"10.0.0.7\",\"mac\":\"aa:bb:cc\"}");
        assertEquals(400, badMac.status());
        assertEquals("Client.Ibap.Proto", badMac.code());
        assertEquals(400, c.post("fixedaddress", "{\"ipv4addr\":\"10.0.0.7\"}").status(), "MAC_ADDRESS needs a mac");
        assertEquals(
                400,
                c.post("fixedaddress", "{\"ipv4addr\":\"10.0.0.300\",\"mac\":\"aa:bb:cc:dd:ee:03\"}")
                        .status());
        assertEquals(
                400,
                c.post("fixedaddress", "{\"ipv4addr\":\"10.0.0.0\",\"match_client\":\"RESERVED\"}")
                        .status(),
                "network address");
        assertEquals(
                400,
                c.post("fixedaddress", "{\"ipv4addr\":\"10.0.0.255\",\"match_client\":\"RESERVED\"}")
                        .status(),
                "broadcast address");
        assertEquals(
                400,
                c.post(
                                "fixedaddress",
                                "{\"ipv4addr\":\"10.0.0.8\",\"mac\":\"aa:bb:cc:dd:ee:03\","
                                        + "\"match_client\":\"WHATEVER\"}")
                        .status());
        assertEquals(
                400,
                c.post(
                                "fixedaddress",
                                "{\"ipv4addr\":\"10.0.0.8\",\"mac\":\"aa:bb:cc:dd:ee:03\"," + "\"colour\":\"red\"}")
                        .status(),
                "unknown field");
        assertEquals(400, c.post("fixedaddress", "{not json").status());

        TestClient.Resp undefinedEa = c.post(
                "fixedaddress",
                "{\"ipv4addr\":\"10.0.0.8\",\"mac\":\"aa:bb:cc:dd:ee:03\","
                        + "\"extattrs\":{\"Foo\":{\"value\":\"bar\"}}}");
        assertEquals(400, undefinedEa.status());
        assertEquals("Client.Ibap.Proto", undefinedEa.code());
        assertEquals("Unknown extensible attribute: Foo", undefinedEa.text());

        String reserved = c.create(
                "fixedaddress?_return_fields=mac,match_client",
                "{\"ipv4addr\":\"10.0.0.1\",\"match_client\":\"RESERVED\"}");
        assertEquals(
                1,
                sim.objects("fixedaddress").stream()
                        .filter(o -> o.get("ipv4addr").equals("10.0.0.1")
                                && o.get("mac").equals("00:00:00:00:00:00")
                                && o.get("match_client").equals("RESERVED"))
                        .count(),
                reserved);
        assertEquals(2, sim.objects("fixedaddress").size(), "none of the rejected ones was created");
    }

    @Test
    void networksAndContainersFollowTheGridsOverlapRules() throws Exception {
        c.create("networkcontainer", "{\"network\":\"172.18.0.0/16\"}");
        String inside = c.create("network", "{\"network\":\"172.18.1.0/24\"}");
        assertTrue(inside.endsWith(":172.18.1.0/24/default"));
        assertEquals(
                "172.18.0.0/16",
                c.get(inside + "?_return_fields=network_container")
                        .json()
                        .get("network_container")
                        .asText());

        TestClient.Resp dup = c.post("network", "{\"network\":\"172.18.1.0/24\"}");
        assertEquals(400, dup.status());
        assertEquals("Client.Ibap.Data.Conflict", dup.code());
        assertEquals("The network 172.18.1.0/24 already exists.  Select another network.", dup.text());

        TestClient.Resp overlap = c.post("network", "{\"network\":\"172.18.1.128/25\"}");
        assertEquals("Client.Ibap.Data.Conflict", overlap.code());
        assertEquals(400, c.post("network", "{\"network\":\"172.18.0.0/16\"}").status(), "same as a container");
        assertEquals(400, c.post("network", "{\"network\":\"172.0.0.0/8\"}").status(), "network around a container");
        assertEquals(
                400,
                c.post("networkcontainer", "{\"network\":\"172.18.1.0/26\"}").status(),
                "container inside a network");
        assertEquals(
                400,
                c.post("networkcontainer", "{\"network\":\"172.18.0.0/16\"}").status(),
                "dup container");

        // containers may be created around existing networks and containers, and inside containers
        String outer = c.create("networkcontainer", "{\"network\":\"172.16.0.0/12\"}");
        c.create("networkcontainer", "{\"network\":\"172.18.128.0/17\"}");
        assertEquals(
                "172.16.0.0/12",
                c.get("networkcontainer?network=172.18.0.0/16&_return_fields=network_container")
                        .json()
                        .get(0)
                        .get("network_container")
                        .asText());

        // the same network may exist in another view
        c.create("networkview", "{\"name\":\"other\"}");
        c.create("network", "{\"network\":\"172.18.1.0/24\",\"network_view\":\"other\"}");

        TestClient.Resp hostBits = c.post("network", "{\"network\":\"10.0.0.1/24\"}");
        assertEquals(400, hostBits.status());
        assertEquals("Client.Ibap.Proto", hostBits.code());
        assertEquals(400, c.post("network", "{\"network\":\"10.0.0.0/33\"}").status());
        TestClient.Resp noView = c.post("network", "{\"network\":\"10.0.0.0/24\",\"network_view\":\"missing\"}");
        assertEquals(404, noView.status());
        assertEquals("Client.Ibap.Data.NotFound", noView.code(), noView.body());
        assertTrue(noView.text().contains("missing"), noView.body());

        // deleting the outer container takes what is inside with it (in its view only)
        c.create("fixedaddress", "{\"ipv4addr\":\"172.18.1.10\",\"mac\":\"aa:bb:cc:dd:ee:01\"}");
        assertEquals(200, c.delete(outer).status());
        assertEquals(0, c.get("network?network_view=default").json().size());
        assertEquals(0, c.get("networkcontainer").json().size());
        assertEquals(0, sim.objects("fixedaddress").size());
        assertEquals(1, c.get("network?network_view=other").json().size());
    }

    @Test
    void deletingANetworkDeletesItsFixedAddressesAndAContainerCanKeepItsSubnets() throws Exception {
        String net = c.create("network", "{\"network\":\"10.0.0.0/24\"}");
        c.create("fixedaddress", "{\"ipv4addr\":\"10.0.0.9\",\"mac\":\"aa:bb:cc:dd:ee:01\"}");
        c.delete(net);
        assertTrue(sim.objects("fixedaddress").isEmpty());
        String cont = c.create("networkcontainer", "{\"network\":\"10.8.0.0/16\"}");
        c.create("network", "{\"network\":\"10.8.1.0/24\"}");
        assertEquals(200, c.delete(cont + "?remove_subnets=false").status());
        assertEquals(1, sim.objects("network").size());
    }

    @Test
    void extensibleAttributeDefinitions() throws Exception {
        JsonNode defs = c.get("extensibleattributedef").json();
        List<String> names = new ArrayList<>();
        defs.forEach(d -> names.add(d.get("name").asText()));
        assertEquals(List.of("VM ID", "VM Name", "Tenant ID", "CMP Type", "Cloud API Owned", "Network Name"), names);
        assertEquals(List.of("_ref", "name", "type"), fieldNames(defs.get(0)));
        String vmId = defs.get(0).get("_ref").asText();
        assertTrue(vmId.endsWith(":VM%20ID"), vmId);
        assertEquals("VM ID", c.get(vmId).json().get("name").asText());

        String ref = c.create("extensibleattributedef", "{\"name\":\"Cluster\",\"type\":\"STRING\"}");
        assertEquals(
                400, c.post("extensibleattributedef", "{\"name\":\"Cluster\"}").status());
        assertEquals(1, c.get("extensibleattributedef?name=Cluster").json().size());
        c.create("network", "{\"network\":\"10.0.0.0/24\",\"extattrs\":{\"Cluster\":{\"value\":\"k1\"}}}");
        c.delete(ref);
        assertEquals(400, c.get("network?" + enc("*Cluster") + "=k1").status());
        assertTrue(((Map<?, ?>) sim.objects("network").getFirst().get("extattrs")).isEmpty());

        try (WapiSimulator bare =
                WapiSimulator.builder().cloudEas(false).build().start()) {
            TestClient b = new TestClient(bare);
            assertEquals(0, b.get("extensibleattributedef").json().size());
            assertEquals(
                    400,
                    b.post("network", "{\"network\":\"10.0.0.0/24\",\"extattrs\":{\"VM ID\":{\"value\":\"x\"}}}")
                            .status());
            bare.defineEa("VM ID");
            assertEquals(
                    201,
                    b.post("network", "{\"network\":\"10.0.0.0/24\",\"extattrs\":{\"VM ID\":{\"value\":\"x\"}}}")
                            .status());
            assertTrue(bare.removeEa("VM ID"));
            assertFalse(bare.removeEa("VM ID"));
        }
    }

    @Test
    void pathsAndMethodsOutsideWapiAnswerWapiErrors() throws Exception {
        TestClient.Resp notWapi = c.get(sim.baseUrl() + "/index.html");
        assertEquals(404, notWapi.status());
        assertTrue(notWapi.json().has("Error")
                && notWapi.json().has("code")
                && notWapi.json().has("text"));
        assertEquals(404, c.get(sim.baseUrl() + "/wapi/latest/network").status());
        TestClient.Resp unknownType = c.get("record:host");
        assertEquals(400, unknownType.status());
        assertEquals("Unknown object type (record:host)", unknownType.text());
        assertEquals(
                404,
                c.get("fixedaddress/ZG5zLmZpeGVkX2FkZHJlc3MkOTk5:10.0.0.9/default")
                        .status());
        assertEquals(200, c.get(sim.baseUrl() + "/wapi/v2.12.3/network").status());
        assertEquals(400, c.delete("network").status(), "DELETE needs a ref");
        JsonNode schema = c.get(sim.baseUrl() + "/wapi/v2.7/?_schema").json();
        assertEquals("2.7", schema.get("requested_version").asText());
        assertTrue(schema.get("supported_versions").toString().contains("\"2.5\""));
        JsonNode license = c.get("member:license?type=CLOUD_API").json();
        assertEquals(1, license.size());
        assertEquals("admin", c.get("userprofile").json().get(0).get("name").asText());
    }

    @Test
    void directHelpersValidateLikePost() {
        String ref = sim.createObject("network", Map.of("network", "10.0.0.0/24"));
        assertEquals("10.0.0.0/24", sim.object(ref).get("network"));
        WapiError e =
                assertThrows(WapiError.class, () -> sim.createObject("network", Map.of("network", "10.0.0.0/24")));
        assertEquals(400, e.status());
        assertEquals("Client.Ibap.Data.Conflict", e.code());
        assertThrows(
                UnsupportedOperationException.class,
                () -> sim.objects("network").getFirst().put("x", 1));
        assertEquals(0, sim.totalRequests(), "helpers bypass HTTP and counters");
        sim.deleteObject(ref);
        assertTrue(sim.objects("network").isEmpty());
    }

    @Test
    void refsAreTheGridsOwnKeyEncoding() throws Exception {
        // The refs of real grids, byte for byte (docs/wapi-simulator.md, "Refs", cites them).
        c.create("network", "{\"network\":\"10.8.1.0/24\"}");
        assertEquals(
                "fixedaddress/ZG5zLmZpeGVkX2FkZHJlc3MkMTAuOC4xLjEwMC4wLi4:10.8.1.100/default",
                c.create("fixedaddress", "{\"ipv4addr\":\"10.8.1.100\",\"mac\":\"aa:bb:cc:dd:ee:01\"}"));
        assertEquals(
                "network/ZG5zLm5ldHdvcmskMjIuMC4wLjAvMjQvMA:22.0.0.0/24/default",
                c.create("network", "{\"network\":\"22.0.0.0/24\"}"));
        assertEquals(
                "extensibleattributedef/b25lLmV4dGVuc2libGVfYXR0cmlidXRlc19kZWYkLlNpdGU:Site",
                c.create("extensibleattributedef", "{\"name\":\"Site\"}"));
        assertEquals(
                "networkview/ZG5zLm5ldHdvcmtfdmlldyQw:default/true",
                sim.objects("networkview").getFirst().get("_ref"));
        String view = c.create("networkview", "{\"name\":\"cni_view\"}");
        assertEquals("networkview/ZG5zLm5ldHdvcmtfdmlldyQx:cni_view/false", view, "the second view has index 1");
        c.create("network", "{\"network\":\"10.79.0.0/24\",\"network_view\":\"cni_view\"}");
        assertEquals(
                "fixedaddress/ZG5zLmZpeGVkX2FkZHJlc3MkMTAuNzkuMC4yLjEuLg:10.79.0.2/cni_view",
                c.create(
                        "fixedaddress",
                        "{\"ipv4addr\":\"10.79.0.2\",\"mac\":\"aa:bb:cc:dd:ee:02\","
                                + "\"network_view\":\"cni_view\"}"),
                "IP, then the view's index");
    }

    @Test
    void aRefNamesAKeySoAReservationMadeAgainAnswersToTheOldRef() throws Exception {
        c.create("network", "{\"network\":\"10.0.0.0/24\"}");
        String a = c.create(
                "fixedaddress",
                "{\"ipv4addr\":\"func:nextavailableip:10.0.0.0/24\",\"mac\":\"aa:bb:cc:dd:ee:01\",\"comment\":\"first\"}");
        assertEquals(200, c.delete(a).status());
        assertEquals(404, c.get(a).status(), "a stale ref answers 404 while nothing holds its key");
        // nextavailableip hands out the lowest free address: the one just freed
        String b = c.create(
                "fixedaddress",
                "{\"ipv4addr\":\"func:nextavailableip:10.0.0.0/24\",\"mac\":\"aa:bb:cc:dd:ee:02\",\"comment\":\"second\"}");
        assertEquals(a, b, "same IP, same view: byte-for-byte the same ref");
        assertEquals(
                "second",
                c.get(a + "?_return_fields=comment").json().get("comment").asText(),
                "the old ref names the new holder");
        assertEquals(200, c.delete(a).status(), "and a DELETE by the old ref deletes the new holder");
        assertTrue(sim.objects("fixedaddress").isEmpty());
    }

    @Test
    void movingAFixedAddressChangesItsRef() throws Exception {
        c.create("network", "{\"network\":\"10.0.0.0/24\"}");
        String a = c.create("fixedaddress", "{\"ipv4addr\":\"10.0.0.5\",\"mac\":\"aa:bb:cc:dd:ee:01\"}");
        String moved = c.put(a, "{\"ipv4addr\":\"10.0.0.6\"}").json().asText();
        assertFalse(moved.equals(a), "the IP is part of the key");
        assertTrue(moved.endsWith(":10.0.0.6/default"), moved);
        assertEquals(404, c.get(a).status());
        assertEquals(200, c.get(moved).status());
    }
}
