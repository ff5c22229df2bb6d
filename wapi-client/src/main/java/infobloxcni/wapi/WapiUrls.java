package infobloxcni.wapi;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import okhttp3.HttpUrl;

/**
 * Every URL the client sends, built on the grid's WAPI base ({@code https://grid/wapi/v2.5/}), and
 * read back for messages and metrics. Values go in through okhttp's builder, so they are always
 * encoded: a view named {@code my view&x=1} stays one value, and a ref, which the grid wrote, is
 * put in the path as it is, never interpreted.
 */
final class WapiUrls {
    /** {@code <type>/<opaque>[:<readable>]}; the opaque part is base64 of the object's key. */
    private static final Pattern REF =
            Pattern.compile("([a-z][a-z0-9:_]*)/([A-Za-z0-9+/=_-]+)(?::(.*))?", Pattern.DOTALL);

    private final HttpUrl base;

    WapiUrls(HttpUrl base) {
        this.base = base;
    }

    /** The URL of a top-level WAPI object type, e.g. {@code fixedaddress} or {@code request}, to add a query to. */
    HttpUrl.Builder type(String type) {
        return base.newBuilder().addPathSegment(type);
    }

    /**
     * The URL of a ref as the grid wrote it, {@code <type>/<opaque>:<readable>}. The readable part
     * (IP, names) is whatever the grid put there, so it is encoded, never interpreted: a view
     * named {@code cni_view?x=1} must not turn into a query. A readable segment that is {@code .}
     * or {@code ..} cannot travel in a URL path at all (it would be resolved away), so then only
     * the type and the opaque part, which identify the object, are sent.
     */
    HttpUrl.Builder ref(String ref) {
        Matcher m = ref == null ? null : REF.matcher(ref);
        if (m == null || !m.matches()) throw new IllegalArgumentException("not a WAPI object reference: " + ref);
        HttpUrl.Builder url = type(m.group(1));
        String readable = m.group(3);
        boolean dotSegment = readable != null
                && List.of(readable.split("/", -1)).stream()
                        .map(segment -> segment.replace("%2e", ".").replace("%2E", "."))
                        .anyMatch(segment -> segment.equals(".") || segment.equals(".."));
        if (readable == null || dotSegment) return url.addEncodedPathSegments(m.group(2));
        return url.addEncodedPathSegments(m.group(2) + ":" + readable);
    }

    /** The cheapest call there is: one network view's name. The health probe and {@link WapiClient#probe} send it. */
    HttpUrl probe() {
        return type("networkview")
                .addQueryParameter("_max_results", "1")
                .addQueryParameter("_return_fields", "name")
                .build();
    }

    /** Ends the session ({@link WapiSession} forgets its cookie when it sees this path). */
    HttpUrl logout() {
        return type("logout").build();
    }

    /** The URL as messages show it: the path after the base, and the query. */
    String describe(HttpUrl url) {
        String path = url.encodedPath().substring(base.encodedPath().length());
        String query = url.query();
        return query == null ? path : path + "?" + query;
    }

    /** The first path segment after the WAPI base: the object type, never a ref's key. */
    String objectTypeOf(HttpUrl url) {
        List<String> segments = url.pathSegments();
        int first = base.pathSegments().size() - (base.encodedPath().endsWith("/") ? 1 : 0);
        return first < segments.size() ? segments.get(first) : "";
    }
}
