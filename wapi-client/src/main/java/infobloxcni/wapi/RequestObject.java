package infobloxcni.wapi;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * WAPI's multiple-request object ({@code POST request}), used for one thing: a write to the
 * object a search finds, in one transaction. The search assigns the {@code _ref} it finds to a
 * state, the write goes to {@code ##STATE:claimed:##}, and the grid fails the whole request when
 * the search finds nothing, so nothing but what the search describes can be written. Also
 * remembers whether this grid has the object at all (one that lacks it answers "Unknown object
 * type (request)").
 */
final class RequestObject {
    private static final System.Logger LOG = System.getLogger(RequestObject.class.getName());
    private static final String NO_REQUEST_OBJECT = "Unknown object type (request)";
    private static final String STATE = "claimed";

    private final WapiTransport transport;
    private final WapiUrls urls;
    private final String wapiVersion;
    private volatile boolean available = true;

    RequestObject(WapiTransport transport, WapiUrls urls, String wapiVersion) {
        this.transport = transport;
        this.urls = urls;
        this.wapiVersion = wapiVersion;
    }

    /** Whether the grid has the object, as far as known (until it said otherwise). */
    boolean available() {
        return available;
    }

    /**
     * {@code method} ({@code PUT} with {@code body}, or {@code DELETE}) on the {@code type} object
     * {@code search} finds, sent once. Answered: the write's answer (the object with
     * {@code returnFields} for a PUT, its ref for a DELETE); the search's own is discarded.
     */
    Attempt writeFound(String type, ObjectNode search, String method, ObjectNode body, String returnFields) {
        ArrayNode request = JsonNodeFactory.instance.arrayNode();
        ObjectNode get = request.addObject().put("method", "GET").put("object", type);
        get.set("data", search);
        get.putObject("assign_state").put(STATE, "_ref");
        get.put("discard", true);
        ObjectNode write = request.addObject()
                .put("method", method)
                .put("object", "##STATE:" + STATE + ":##")
                .put("enable_substitution", true);
        if (body != null) {
            write.set("data", body);
            write.putObject("args").put("_return_fields", returnFields);
        }
        Attempt attempt = transport.sendOnce("POST", urls.type("request").build(), request);
        if (attempt instanceof Attempt.Answered(var answer)) return new Attempt.Answered(answer.path(0));
        if (attempt instanceof Attempt.Failed(WapiException.Rejected refused)
                && refused.gridText() != null
                && refused.gridText().contains(NO_REQUEST_OBJECT)) {
            available = false;
            LOG.log(
                    System.Logger.Level.WARNING,
                    "the grid has no multiple-request object (WAPI {0}): each release checks, then "
                            + "deletes, in two round trips",
                    wapiVersion);
        }
        return attempt;
    }
}
