package infobloxcni.wapisim;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The WAPI surface over {@link WapiModel}: query parameters, return fields, result limits, paging,
 * functions and the read-only objects a client may probe ({@code userprofile}, {@code member:license},
 * {@code grid}, {@code ?_schema}). Authentication and faults are handled by the caller.
 */
final class WapiApi {

    /** An answer: HTTP status and the JSON value to send. */
    record Result(int status, Object json) {}

    private static final Set<String> IGNORED_CONTROLS = Set.of(
            "_proxy_search",
            "_inheritance",
            "_return_type",
            "_schema_version",
            "_schema_searchable",
            "_get_doc",
            "_approved",
            "_ref_only");
    private static final int DEFAULT_MAX_RESULTS = 1000;
    private static final List<String> SUPPORTED_VERSIONS = List.of(
            "1.0", "1.1", "1.2", "1.2.1", "1.3", "1.4", "1.4.1", "1.4.2", "1.5", "1.6", "1.6.1", "1.7", "1.7.1",
            "1.7.2", "1.7.3", "1.7.4", "1.7.5", "2.0", "2.1", "2.1.1", "2.1.2", "2.2", "2.2.1", "2.2.2", "2.3", "2.3.1",
            "2.4", "2.5", "2.6", "2.6.1", "2.7", "2.7.1", "2.7.2", "2.7.3", "2.8", "2.9", "2.9.1", "2.9.5", "2.9.7",
            "2.10", "2.10.1", "2.10.2", "2.10.3", "2.10.5", "2.11", "2.11.1", "2.11.2", "2.11.3", "2.11.5", "2.12",
            "2.12.1", "2.12.2", "2.12.3", "2.13");

    private final WapiModel model;
    private final String username;
    private final boolean cloudLicense;
    private final boolean requestObject;
    private final PageIds pages = new PageIds();

    /** Where a paged search stands: the search itself and the key of the last object served. */
    record Cursor(
            String type,
            List<SearchConditions.Cond> conds,
            ReturnSpec returnSpec,
            int pageSize,
            GridRefs.SortKey after) {}

    /** @param requestObject false: behave as a grid without the multiple-request object ("Unknown object type (request)") */
    WapiApi(WapiModel model, String username, boolean cloudLicense, boolean requestObject) {
        this.model = model;
        this.username = username;
        this.cloudLicense = cloudLicense;
        this.requestObject = requestObject;
    }

    /** Parsed query string: control arguments (leading '_') and the rest, both in order. */
    static final class Query {
        final Map<String, String> controls = new LinkedHashMap<>();
        final List<Map.Entry<String, String>> args = new ArrayList<>();

        String control(String name) {
            return controls.get(name);
        }
    }

    static Query parseQuery(String raw) {
        Query q = new Query();
        if (raw == null || raw.isEmpty()) return q;
        for (String piece : raw.split("&")) {
            if (piece.isEmpty()) continue;
            int eq = piece.indexOf('=');
            String k;
            String v;
            try {
                k = URLDecoder.decode(eq < 0 ? piece : piece.substring(0, eq), StandardCharsets.UTF_8);
                v = eq < 0 ? "" : URLDecoder.decode(piece.substring(eq + 1), StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                throw WapiError.proto("Malformed query string");
            }
            if (k.startsWith("_")) q.controls.put(k, v);
            else q.args.add(new AbstractMap.SimpleImmutableEntry<>(k, v));
        }
        return q;
    }

    /** Carries out one authenticated WAPI call. {@code rest} is the path after {@code /wapi/vX/}. */
    Result call(String method, String version, String rest, Query q, byte[] body) {
        for (String c : q.controls.keySet()) {
            if (!IGNORED_CONTROLS.contains(c)
                    && !Set.of(
                                    "_return_fields",
                                    "_return_fields+",
                                    "_max_results",
                                    "_return_as_object",
                                    "_paging",
                                    "_page_id",
                                    "_function",
                                    "_schema",
                                    "_schema_searchable")
                            .contains(c)) {
                throw WapiError.proto("Unknown argument/field: '" + c + "'");
            }
        }
        boolean asObject = "1".equals(q.control("_return_as_object"));
        Result r = route(method, version, rest, q, body);
        if (asObject && !(r.json() instanceof Map<?, ?> m && m.containsKey("result"))) {
            Map<String, Object> wrapped = new LinkedHashMap<>();
            wrapped.put("result", r.json());
            return new Result(r.status(), wrapped);
        }
        return r;
    }

    private Result route(String method, String version, String rest, Query q, byte[] body) {
        String function = q.control("_function");
        if (rest.isEmpty()) {
            if (method.equals("GET") && q.controls.containsKey("_schema")) return new Result(200, gridSchema(version));
            throw WapiError.proto("Unknown object type ()");
        }
        if (rest.equals("logout")) throw WapiError.proto("Function logout illegal with this method");
        if (rest.equals("request") && requestObject) {
            if (!method.equals("POST")) throw WapiError.proto("Operation " + method + " not allowed for request");
            if (body.length == 0) throw WapiError.proto("The request object needs a body");
            return new Result(201, MultiRequest.run(model, Json.parse(body)));
        }
        int slash = rest.indexOf('/');
        if (slash < 0) {
            String type = rest;
            if (!ObjectSpecs.isModelledType(type)) return readOnlyObject(method, type, q);
            if (function != null && !method.equals("POST")) {
                throw WapiError.proto("Function " + function + " illegal with this method");
            }
            switch (method) {
                case "GET" -> {
                    if (q.controls.containsKey("_schema")) return new Result(200, objectSchema(type, version));
                    return new Result(200, search(type, version, q));
                }
                case "POST" -> {
                    if (function != null) throw WapiError.proto("Invalid reference: ");
                    Map<String, Object> fields = bodyObject(body, q);
                    return new Result(201, model.create(type, fields, returnSpec(q)));
                }
                case "PUT", "DELETE" -> throw WapiError.proto("A reference is required for " + method);
                default -> throw WapiError.proto("Unsupported method " + method);
            }
        }
        String ref = rest;
        if (!ObjectSpecs.isModelledType(rest.substring(0, slash))) {
            throw WapiError.proto("Unknown object type (" + rest.substring(0, slash) + ")");
        }
        if (function != null && !method.equals("POST")) {
            throw WapiError.proto("Function " + function + " illegal with this method");
        }
        return switch (method) {
            case "GET" -> {
                if ("1".equals(q.control("_paging"))) {
                    throw WapiError.proto("Paging is not supported for object reference read operations");
                }
                yield new Result(200, model.get(ref, returnSpec(q)));
            }
            case "PUT" -> new Result(200, model.update(ref, bodyObject(body, q), returnSpec(q)));
            case "DELETE" -> {
                Map<String, String> args = new LinkedHashMap<>();
                for (Map.Entry<String, String> e : q.args) args.put(e.getKey(), e.getValue());
                yield new Result(200, model.delete(ref, args));
            }
            case "POST" -> {
                if (function == null) throw WapiError.proto("Function required for POST on a reference");
                yield new Result(200, model.function(ref, function, bodyObject(body, q)));
            }
            default -> throw WapiError.proto("Unsupported method " + method);
        };
    }

    /** The JSON body as an object; query arguments fill in fields the body does not carry. */
    @SuppressWarnings("unchecked")
    private static Map<String, Object> bodyObject(byte[] body, Query q) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : q.args) out.put(e.getKey(), e.getValue());
        if (body.length > 0 && !new String(body, StandardCharsets.UTF_8).isBlank()) {
            Object parsed = Json.parse(body);
            if (!(parsed instanceof Map)) throw WapiError.proto("The request body must be a JSON object");
            out.putAll((Map<String, Object>) parsed);
        }
        return out;
    }

    static ReturnSpec returnSpec(Query q) {
        String plus = q.control("_return_fields+");
        String exact = q.control("_return_fields");
        if (plus == null && exact == null) return ReturnSpec.NONE;
        List<String> fields = new ArrayList<>();
        for (String s : (plus != null ? plus : exact).split(",")) {
            if (!s.isBlank()) fields.add(s.trim());
        }
        return new ReturnSpec(true, plus != null, fields);
    }

    /**
     * {@code GET <type>}: a search, limited as a grid limits it, or one page of it. Without
     * {@code _max_results} the grid's default of -1000 applies: a negative bound N refuses a result set
     * larger than |N| (400 "Result set too large (> |N|)"), a positive one truncates silently.
     */
    private Object search(String type, String version, Query q) {
        String pageId = q.control("_page_id");
        if (pageId != null) return nextPage(type, pageId);
        List<SearchConditions.Cond> conds = new ArrayList<>();
        for (Map.Entry<String, String> e : q.args) conds.add(condition(e.getKey(), e.getValue()));
        Integer max = maxResults(q);
        ReturnSpec rs = returnSpec(q);
        if ("1".equals(q.control("_paging"))) {
            requirePagingVersion(version);
            if (!"1".equals(q.control("_return_as_object"))) {
                throw WapiError.proto("_return_as_object needs to be enabled for paging requests.");
            }
            if (max == null || max <= 0) throw WapiError.proto("_paging parameter requires a positive _max_results");
            return page(new Cursor(type, conds, rs, max, null));
        }
        int bound = max == null ? -DEFAULT_MAX_RESULTS : max;
        WapiModel.Slice s = model.slice(type, conds, rs, null, Math.abs(bound));
        if (bound < 0 && s.more()) throw WapiError.proto("Result set too large (> " + -bound + ")");
        return s.objects();
    }

    private static Integer maxResults(Query q) {
        String s = q.control("_max_results");
        if (s == null) return null;
        try {
            int n = Integer.parseInt(s.trim());
            if (n == 0) throw WapiError.proto("Invalid value for _max_results: 0");
            return n == Integer.MIN_VALUE ? -Integer.MAX_VALUE : n;
        } catch (NumberFormatException e) {
            throw WapiError.proto("Invalid value for _max_results: '" + s + "'");
        }
    }

    /** Paging came with WAPI 1.5; older versions refuse it with this text. */
    private static void requirePagingVersion(String version) {
        String[] parts = version.split("\\.");
        int major = Integer.parseInt(parts[0]);
        int minor = parts.length > 1 ? Integer.parseInt(parts[1]) : 0;
        if (major < 1 || (major == 1 && minor < 5)) {
            throw WapiError.proto("Paging is not supported for this WAPI version.");
        }
    }

    /**
     * One page from where {@code c} stands: {@code {"result": [...], "next_page_id": "..."}}, with no
     * {@code next_page_id} on the last page. Each page gets a new id for the page after it; an id
     * stays good (reading it again gives the same position) until it is evicted or expired.
     */
    private Map<String, Object> page(Cursor c) {
        WapiModel.Slice s = model.slice(c.type, c.conds, c.returnSpec, c.after, c.pageSize);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("result", s.objects());
        if (s.more())
            out.put("next_page_id", pages.register(new Cursor(c.type, c.conds, c.returnSpec, c.pageSize, s.last())));
        return out;
    }

    /**
     * {@code GET <type>?_page_id=<id>}: the page an id names. The id carries the search, the return
     * fields and the page size, so other arguments may be repeated or left out, as clients do both.
     */
    private Map<String, Object> nextPage(String type, String id) {
        Cursor c = pages.get(id);
        if (c == null || !c.type.equals(type)) throw WapiError.proto("Invalid page id: " + id);
        return page(c);
    }

    /** Forgets every page id: each is unknown from now on, as after a grid's page ids expired. */
    void expirePageIds() {
        pages.clear();
    }

    /** {@code field=v}, {@code field~=re}, {@code field:=v} (any case), {@code field!=v}, {@code *EA=v}. */
    static SearchConditions.Cond condition(String key, String value) {
        boolean ea = key.startsWith("*");
        String k = ea ? key.substring(1) : key;
        boolean regex = false;
        boolean ignoreCase = false;
        boolean negate = false;
        while (!k.isEmpty()) {
            char c = k.charAt(k.length() - 1);
            if (c == '~') regex = true;
            else if (c == ':') ignoreCase = true;
            else if (c == '!') negate = true;
            else if (c == '<' || c == '>') throw WapiError.proto("Search modifier '" + c + "' is not supported");
            else break;
            k = k.substring(0, k.length() - 1);
        }
        if (k.isEmpty()) throw WapiError.proto("Empty search field");
        if (negate && regex) throw WapiError.proto("Search modifiers '!' and '~' cannot be combined");
        SearchConditions.Op op =
                regex ? SearchConditions.Op.REGEX : negate ? SearchConditions.Op.NE : SearchConditions.Op.EQ;
        return SearchConditions.cond(k, ea, op, ignoreCase, value);
    }

    // ---------------------------------------------------------------- read-only objects

    private Result readOnlyObject(String method, String type, Query q) {
        List<Map<String, Object>> objects = switch (type) {
            case "userprofile" ->
                List.of(map("_ref", "userprofile/b25lLnVzZXJfcHJvZmlsZSQ:" + username, "name", username));
            case "grid" -> List.of(map("_ref", "grid/b25lLmNsdXN0ZXIkMA:Infoblox"));
            case "member:license" -> licenses();
            default -> throw WapiError.proto("Unknown object type (" + type + ")");
        };
        if (!method.equals("GET")) throw WapiError.proto("Operation " + method + " not allowed for " + type);
        List<Map<String, Object>> out = new ArrayList<>();
        for (Map<String, Object> o : objects) {
            boolean match = true;
            for (Map.Entry<String, String> e : q.args) {
                Object v = o.get(e.getKey());
                if (v != null && !String.valueOf(v).equals(e.getValue())) match = false;
            }
            if (match) out.add(o);
        }
        return new Result(200, out);
    }

    private List<Map<String, Object>> licenses() {
        List<Map<String, Object>> out = new ArrayList<>();
        List<String> kinds = new ArrayList<>(List.of("NIOS", "DNS", "DHCP"));
        if (cloudLicense) kinds.add("CLOUD_API");
        long expiry = 4102444800L; // 2100-01-01
        int i = 0;
        for (String kind : kinds) {
            String id = java.util.Base64.getUrlEncoder()
                    .withoutPadding()
                    .encodeToString(("member_license$" + i++).getBytes(StandardCharsets.UTF_8));
            out.add(map(
                    "_ref",
                    "member:license/" + id + ":" + kind + "/SIMULATED",
                    "expiry_date",
                    expiry,
                    "key",
                    "SIMULATED-" + kind,
                    "kind",
                    "Static",
                    "limit",
                    "",
                    "type",
                    kind));
        }
        return out;
    }

    private static Map<String, Object> map(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) m.put((String) kv[i], kv[i + 1]);
        return m;
    }

    private static Map<String, Object> gridSchema(String version) {
        List<String> objects = new ArrayList<>(ObjectSpecs.TYPES);
        objects.addAll(List.of("grid", "member:license", "userprofile"));
        objects.sort(null);
        return map(
                "requested_version", version, "supported_objects", objects, "supported_versions", SUPPORTED_VERSIONS);
    }

    private static Map<String, Object> objectSchema(String type, String version) {
        ObjectSpecs.Spec spec = ObjectSpecs.spec(type);
        List<Map<String, Object>> fields = new ArrayList<>();
        for (String f : spec.readable()) {
            StringBuilder supports = new StringBuilder("r");
            if (spec.creatable().contains(f)) supports.append('w');
            if (spec.updatable().contains(f)) supports.append('u');
            if (spec.searchable().contains(f)) supports.append('s');
            String t = switch (f) {
                case "extattrs" -> "extattr";
                case "is_default", "disable", "enable_ddns" -> "bool";
                case "netmask" -> "uint";
                default -> "string";
            };
            fields.add(map(
                    "name",
                    f,
                    "supports",
                    supports.toString(),
                    "type",
                    List.of(t),
                    "is_array",
                    false,
                    "standard_field",
                    spec.defaults().contains(f)));
        }
        return map(
                "cloud_additional_restrictions",
                List.of(),
                "fields",
                fields,
                "restrictions",
                List.of(),
                "type",
                type,
                "version",
                version);
    }
}
