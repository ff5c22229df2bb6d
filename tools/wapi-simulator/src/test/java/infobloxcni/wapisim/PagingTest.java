package infobloxcni.wapisim;

import static infobloxcni.wapisim.TestClient.enc;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Result-set limits and paging, as a grid does them: the default -1000, truncation, pages and page ids. */
class PagingTest {
    WapiSimulator sim;
    TestClient c;

    @BeforeEach
    void start() {
        sim = WapiSimulator.builder().build().start();
        c = new TestClient(sim);
        sim.createObject("network", Map.of("network", "10.8.0.0/20"));
    }

    @AfterEach
    void stop() {
        sim.close();
    }

    /** {@code n} reservations 10.8.0.1, 10.8.0.2, ... straight into the model (fast: no HTTP). */
    private void reserve(int from, int n) {
        for (int i = from; i < from + n; i++) {
            Map<String, Object> f = new LinkedHashMap<>();
            f.put("ipv4addr", "10.8." + (i / 256) + "." + (i % 256));
            f.put("match_client", "RESERVED");
            f.put("comment", "n" + i);
            sim.createObject("fixedaddress", f);
        }
    }

    private static List<String> addresses(JsonNode list) {
        List<String> out = new ArrayList<>();
        for (JsonNode o : list) out.add(o.get("ipv4addr").asText());
        return out;
    }

    private static String ip(int i) {
        return "10.8." + (i / 256) + "." + (i % 256);
    }

    @Test
    void withoutMaxResultsAThousandIsFineAndOneMoreIsTheGridsError() throws Exception {
        reserve(1, 1000);
        assertEquals(1000, c.get("fixedaddress").json().size());
        reserve(1001, 1);
        TestClient.Resp r = c.get("fixedaddress");
        assertEquals(400, r.status());
        assertEquals("Client.Ibap.Proto", r.code());
        assertEquals("Result set too large (> 1000)", r.text());
        assertEquals(
                "AdmConProtoError: Result set too large (> 1000)",
                r.json().get("Error").asText());
        TestClient.Resp wrapped = c.get("fixedaddress?_return_as_object=1");
        assertEquals(400, wrapped.status(), "wrapping the answer does not lift the limit");
    }

    @Test
    void aNegativeMaxRefusesMoreAndAPositiveMaxTruncatesSilently() throws Exception {
        reserve(1, 2500);
        assertEquals(
                "Result set too large (> 2499)",
                c.get("fixedaddress?_max_results=-2499").text());
        assertEquals(2500, c.get("fixedaddress?_max_results=-2500").json().size());
        JsonNode some = c.get("fixedaddress?_max_results=1200").json();
        assertEquals(1200, some.size(), "positive: the first 1200, no error");
        assertEquals(ip(1), some.get(0).get("ipv4addr").asText());
        assertEquals(ip(1200), some.get(1199).get("ipv4addr").asText(), "in key order");
        JsonNode all = c.get("fixedaddress?_max_results=100000").json();
        assertEquals(2500, all.size(), "what the daemon sends today: everything up to 100,000");
        JsonNode filtered = c.get("fixedaddress?_max_results=-10&comment=n42").json();
        assertEquals(1, filtered.size(), "the limit counts what matches, not what exists");
    }

    @Test
    void returnAsObjectAloneWrapsTheResultWithoutAPageId() throws Exception {
        reserve(1, 3);
        JsonNode r = c.get("fixedaddress?_return_as_object=1").json();
        assertEquals(3, r.get("result").size());
        assertFalse(r.has("next_page_id"));
        assertEquals(List.of("result"), List.copyOf(iterable(r.fieldNames())));
    }

    private static <T> List<T> iterable(java.util.Iterator<T> it) {
        List<T> out = new ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }

    @Test
    void pagingWalksMoreObjectsThanOnePageHoldsWithANewIdForEachPage() throws Exception {
        reserve(1, 2500);
        JsonNode p1 = c.get("fixedaddress?_paging=1&_return_as_object=1&_max_results=1000"
                        + "&_return_fields=ipv4addr,comment")
                .json();
        assertEquals(1000, p1.get("result").size());
        String id1 = p1.get("next_page_id").asText();
        assertTrue(id1.startsWith("789c"), id1);

        // Posh-IBWAPI sends the id alone; infoblox-client and terraform-provider-nios repeat every argument
        JsonNode p2 = c.get("fixedaddress?_page_id=" + id1).json();
        JsonNode p2again = c.get("fixedaddress?_paging=1&_return_as_object=1&_max_results=1000"
                        + "&_return_fields=ipv4addr,comment&_page_id=" + id1)
                .json();
        assertEquals(p2.get("result"), p2again.get("result"), "an id names a position: read again, the same page");
        assertEquals(1000, p2.get("result").size());
        String id2 = p2.get("next_page_id").asText();
        assertNotEquals(id1, id2, "each page carries a new id for the page after it");
        assertEquals(
                List.of("_ref", "ipv4addr", "comment"),
                iterable(p2.get("result").get(0).fieldNames()),
                "the id carries the return fields");

        JsonNode p3 = c.get("fixedaddress?_page_id=" + id2).json();
        assertEquals(500, p3.get("result").size());
        assertFalse(p3.has("next_page_id"), "no next_page_id on the last page");

        List<String> walked = new ArrayList<>();
        for (JsonNode p : List.of(p1, p2, p3)) walked.addAll(addresses(p.get("result")));
        List<String> expected = new ArrayList<>();
        for (int i = 1; i <= 2500; i++) expected.add(ip(i));
        assertEquals(expected, walked, "every object once, in key order");
    }

    @Test
    void aPageIdCarriesTheSearch() throws Exception {
        reserve(1, 30);
        JsonNode p1 = c.get("fixedaddress?_paging=1&_return_as_object=1&_max_results=4&" + enc("comment~") + "="
                        + enc("^n1"))
                .json();
        List<String> got = new ArrayList<>(addresses(p1.get("result")));
        JsonNode p = p1;
        while (p.has("next_page_id")) {
            p = c.get("fixedaddress?_page_id=" + p.get("next_page_id").asText()).json();
            got.addAll(addresses(p.get("result")));
        }
        List<String> expected = new ArrayList<>();
        for (int i = 1; i <= 30; i++) if (String.valueOf(i).startsWith("1")) expected.add(ip(i));
        assertEquals(expected, got, "n1, n10..n19: the filter holds on every page");
    }

    @Test
    void laterPagesSeeChangesMadeDuringTheWalk() throws Exception {
        reserve(1, 10);
        JsonNode p1 = c.get("fixedaddress?_paging=1&_return_as_object=1&_max_results=4")
                .json();
        assertEquals(List.of(ip(1), ip(2), ip(3), ip(4)), addresses(p1.get("result")));
        sim.deleteObject(p1.get("result").get(0).get("_ref").asText()); // behind the cursor: no effect
        sim.deleteObject(c.get("fixedaddress?ipv4addr=" + ip(6))
                .json()
                .get(0)
                .get("_ref")
                .asText());
        reserve(200, 1); // ahead of the cursor: it shows up
        List<String> rest = new ArrayList<>();
        JsonNode p = p1;
        while (p.has("next_page_id")) {
            p = c.get("fixedaddress?_page_id=" + p.get("next_page_id").asText()).json();
            rest.addAll(addresses(p.get("result")));
        }
        assertEquals(List.of(ip(5), ip(7), ip(8), ip(9), ip(10), ip(200)), rest, "not a snapshot: a live walk");
    }

    @Test
    void pagingRefusalsInTheGridsWords() throws Exception {
        reserve(1, 5);
        TestClient.Resp noObject = c.get("fixedaddress?_paging=1&_max_results=2");
        assertEquals(400, noObject.status());
        assertEquals("Client.Ibap.Proto", noObject.code());
        assertEquals("_return_as_object needs to be enabled for paging requests.", noObject.text());

        TestClient.Resp noMax = c.get("fixedaddress?_paging=1&_return_as_object=1");
        assertEquals(400, noMax.status());
        assertEquals("Client.Ibap.Proto", noMax.code());
        assertEquals(
                400,
                c.get("fixedaddress?_paging=1&_return_as_object=1&_max_results=-2")
                        .status());

        String ref =
                c.get("fixedaddress?_max_results=1").json().get(0).get("_ref").asText();
        TestClient.Resp onRef = c.get(ref + "?_paging=1&_return_as_object=1&_max_results=2");
        assertEquals(400, onRef.status());
        assertEquals("Paging is not supported for object reference read operations", onRef.text());
        assertEquals(200, c.get(ref + "?_return_as_object=1").status());

        TestClient.Resp oldWapi =
                c.get(sim.wapiUrl("1.4") + "/fixedaddress?_paging=1&_return_as_object=1&_max_results=2");
        assertEquals(400, oldWapi.status());
        assertEquals("Paging is not supported for this WAPI version.", oldWapi.text());
        assertEquals(
                200,
                c.get(sim.wapiUrl("1.5") + "/fixedaddress?_paging=1&_return_as_object=1&_max_results=2")
                        .status());
    }

    @Test
    void anUnknownOrExpiredPageIdIsAnError() throws Exception {
        reserve(1, 5);
        TestClient.Resp unknown = c.get("fixedaddress?_page_id=789c0000");
        assertEquals(400, unknown.status());
        assertEquals("Client.Ibap.Proto", unknown.code());
        assertTrue(unknown.text().startsWith("Invalid page id"), unknown.body());

        String id = c.get("fixedaddress?_paging=1&_return_as_object=1&_max_results=2")
                .json()
                .get("next_page_id")
                .asText();
        assertEquals(400, c.get("network?_page_id=" + id).status(), "an id belongs to its object type");
        assertEquals(200, c.get("fixedaddress?_page_id=" + id).status());
        sim.expirePageIds();
        assertEquals(400, c.get("fixedaddress?_page_id=" + id).status(), "expired: start the walk again");
    }

    @Test
    void oldPageIdsAreForgottenLeastRecentlyUsedFirst() {
        PageIds pages = new PageIds();
        WapiApi.Cursor c = new WapiApi.Cursor("fixedaddress", List.of(), ReturnSpec.NONE, 1, null);
        String first = pages.register(c);
        String second = pages.register(c);
        Set<String> ids = new HashSet<>(List.of(first, second));
        assertEquals(c, pages.get(first), "reading an id makes it the most recently used");
        for (int i = 0; i < PageIds.CAPACITY - 1; i++) ids.add(pages.register(c));
        assertEquals(PageIds.CAPACITY + 1, ids.size(), "every id is new");
        assertEquals(null, pages.get(second), "the least recently used id was let go");
        assertEquals(c, pages.get(first));
    }
}
