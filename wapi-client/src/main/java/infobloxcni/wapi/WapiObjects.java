package infobloxcni.wapi;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import okhttp3.HttpUrl;

/**
 * The calls every object family makes, in WAPI's terms: a search followed page by page, a create
 * that answers the object it made, a read by ref, and a write by ref sent once. The families
 * ({@link NetworkViews}, {@link Networks}, {@link FixedAddresses}) say which type, which fields.
 */
final class WapiObjects {
    /** Results per page of a search (the largest page size clients are known to use with grids). */
    static final int PAGE_SIZE = 1000;
    /** A search is never followed beyond this many pages: a grid that keeps answering pages is broken. */
    static final int MAX_PAGES = 1000;

    private final WapiTransport transport;
    private final WapiUrls urls;

    WapiObjects(WapiTransport transport, WapiUrls urls) {
        this.transport = transport;
        this.urls = urls;
    }

    /**
     * A search, every result of it, page by page: without paging a grid refuses more than 1000
     * results ("Result set too large (> 1000)"), and a positive {@code _max_results} truncates
     * silently, so a host with more reservations than any fixed limit would lose some from view.
     * Each page is one call ({@code _paging=1&_return_as_object=1&_max_results=}{@value #PAGE_SIZE},
     * then {@code _page_id}); the pages of one search run under the caller's deadline.
     */
    List<JsonNode> search(String type, Map<String, String> query, String returnFields) {
        HttpUrl.Builder first = urls.type(type);
        query.forEach(first::addQueryParameter);
        first.addQueryParameter("_return_fields", returnFields);
        first.addQueryParameter("_paging", "1");
        first.addQueryParameter("_return_as_object", "1");
        first.addQueryParameter("_max_results", String.valueOf(PAGE_SIZE));
        List<JsonNode> out = new ArrayList<>();
        HttpUrl url = first.build();
        boolean restarted = false;
        for (int page = 1; ; page++) {
            JsonNode answer;
            try {
                answer = transport.execute("GET", url, null);
            } catch (WapiException.Rejected expired) {
                // Page ids expire on a grid: a walk that outlived its id starts again, once.
                if (restarted
                        || page == 1
                        || expired.gridText() == null
                        || !expired.gridText().contains("page id")) throw expired;
                restarted = true;
                out.clear();
                page = 0;
                url = first.build();
                continue;
            }
            if (answer.isArray()) { // a server that ignores _return_as_object answers the plain list: all of it
                answer.forEach(out::add);
                return out;
            }
            JsonNode result = answer.path("result");
            if (!answer.isObject() || !result.isArray())
                throw WapiFailures.malformed("GET", type, "expected {\"result\": [...]}, got " + answer.getNodeType());
            result.forEach(out::add);
            JsonNode next = answer.get("next_page_id");
            if (next == null || next.isNull() || next.asText().isEmpty()) return out;
            if (page >= MAX_PAGES)
                throw WapiFailures.malformed(
                        "GET", type, "more than " + MAX_PAGES + " pages of " + PAGE_SIZE + " results");
            url = urls.type(type).addQueryParameter("_page_id", next.asText()).build();
        }
    }

    /** Creates an object; the answer is the object made, with {@code returnFields}. */
    JsonNode create(String type, ObjectNode body, String returnFields) {
        HttpUrl url = urls.type(type)
                .addQueryParameter("_return_fields", returnFields)
                .build();
        JsonNode result = transport.execute("POST", url, body);
        if (!result.isObject() || !result.hasNonNull("_ref")) {
            throw WapiFailures.malformed(
                    "POST", type, "expected the created object, got " + WapiFailures.abbreviate(result.toString()));
        }
        return result;
    }

    /**
     * The object a ref names <em>now</em>, or empty when it names none. A ref names a key (IP and
     * view), so a ref kept from earlier may name another holder's object today.
     */
    Optional<JsonNode> read(String ref, String returnFields) {
        try {
            return Optional.of(transport.execute(
                    "GET",
                    urls.ref(ref)
                            .addQueryParameter("_return_fields", returnFields)
                            .build(),
                    null));
        } catch (WapiException.NotFound e) {
            return Optional.empty();
        }
    }

    /**
     * A PUT or DELETE by ref, sent once and never repeated here: a write that did arrive may have
     * freed the key for someone else, so whoever writes again looks first.
     *
     * @param returnFields the fields the written object is answered with; null for none
     */
    Attempt writeOnce(String method, String ref, ObjectNode body, String returnFields) {
        HttpUrl.Builder url = urls.ref(ref);
        if (returnFields != null) url.addQueryParameter("_return_fields", returnFields);
        return transport.sendOnce(method, url.build(), body);
    }
}
