package infobloxcni.wapisim;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * WAPI's multiple-request object, {@code POST request} with a JSON list of entries
 * ({@code method}, {@code object}, {@code data}, {@code args}, {@code assign_state},
 * {@code enable_substitution}, {@code discard}; methods GET, POST, PUT, DELETE, STATE:ASSIGN,
 * STATE:DISPLAY), run as one step under the model's lock, as the grid runs it in one
 * transaction. A GET whose result must {@code assign_state} but that matches nothing fails the
 * whole request before any later entry runs: Infoblox's own go-client builds its compare-and-set
 * lock on exactly that. The error text the grid uses for it is not public; this one is modelled on
 * the grid's wording for an {@code _object_function} search that finds nothing.
 *
 * <p>Deliberately narrower than a grid: at most one write (POST, PUT or DELETE) per request, and
 * after it nothing but STATE:DISPLAY, so that all-or-nothing holds without an undo log. Anything
 * else answers 400 and changes nothing.
 */
final class MultiRequest {
    private static final Pattern STATE = Pattern.compile("##STATE:([^:#]+):##");
    private static final Set<String> ENTRY_KEYS =
            Set.of("method", "object", "data", "args", "assign_state", "enable_substitution", "discard");
    private static final Set<String> WRITES = Set.of("POST", "PUT", "DELETE");

    private final WapiModel model;
    private final Map<String, Object> state = new LinkedHashMap<>();
    private final List<Object> results = new ArrayList<>();

    private MultiRequest(WapiModel model) {
        this.model = model;
    }

    /** Runs the request body (one entry or a list of them); answers the list of kept results. */
    static List<Object> run(WapiModel model, Object body) {
        List<Map<String, Object>> entries = entries(body);
        return model.atomically(() -> {
            MultiRequest r = new MultiRequest(model);
            for (Map<String, Object> e : entries) r.runEntry(e);
            return r.results;
        });
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> entries(Object body) {
        List<?> list = body instanceof List<?> l ? l : List.of(body);
        if (list.isEmpty()) throw WapiError.proto("The request object needs at least one request");
        List<Map<String, Object>> out = new ArrayList<>();
        boolean written = false;
        for (Object o : list) {
            if (!(o instanceof Map<?, ?> m)) throw WapiError.proto("Each request must be a JSON object");
            for (Object k : m.keySet()) {
                if (!ENTRY_KEYS.contains(String.valueOf(k)))
                    throw WapiError.proto("Unknown argument/field: '" + k + "'");
            }
            String method = m.get("method") instanceof String s ? s : null;
            if (method == null) throw WapiError.proto("Required field missing: method");
            if (written && !method.equals("STATE:DISPLAY")) {
                throw WapiError.proto("The simulator runs no request after a write other than STATE:DISPLAY");
            }
            if (WRITES.contains(method)) written = true;
            out.add((Map<String, Object>) m);
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    private void runEntry(Map<String, Object> e) {
        String method = (String) e.get("method");
        boolean substitute = Boolean.TRUE.equals(e.get("enable_substitution"));
        Object objectField = e.get("object");
        String object = objectField == null
                ? null
                : substitute ? substitute(String.valueOf(objectField)) : String.valueOf(objectField);
        Map<String, Object> data = e.get("data") == null ? Map.of() : asMap(e.get("data"), "data");
        if (substitute) data = (Map<String, Object>) substituteAll(data);
        WapiApi.Query args = query(e.get("args") == null ? Map.of() : asMap(e.get("args"), "args"));
        Object result = switch (method) {
            case "STATE:ASSIGN" -> {
                state.putAll(data);
                yield null;
            }
            case "STATE:DISPLAY" -> new LinkedHashMap<>(state);
            case "GET" -> get(requireObject(object, method), data, args);
            case "POST" -> model.create(requireObject(object, method), data, WapiApi.returnSpec(args));
            case "PUT" -> model.update(requireObject(object, method), data, WapiApi.returnSpec(args));
            case "DELETE" -> {
                Map<String, String> plain = new LinkedHashMap<>();
                args.args.forEach(a -> plain.put(a.getKey(), a.getValue()));
                yield model.delete(requireObject(object, method), plain);
            }
            default -> throw WapiError.proto("Invalid method " + method + " in request");
        };
        if (e.get("assign_state") != null) assign(asMap(e.get("assign_state"), "assign_state"), result, object, data);
        if (result != null && !Boolean.TRUE.equals(e.get("discard"))) results.add(result);
    }

    private Object get(String object, Map<String, Object> data, WapiApi.Query args) {
        if (object.indexOf('/') > 0) return model.get(object, WapiApi.returnSpec(args));
        List<SearchConditions.Cond> conds = new ArrayList<>();
        data.forEach((k, v) -> conds.add(WapiApi.condition(k, String.valueOf(v))));
        return model.search(object, conds, WapiApi.returnSpec(args));
    }

    /** Copies fields of an entry's result into the state: {@code {"var": "_ref"}}. */
    private void assign(Map<String, Object> assignments, Object result, String object, Map<String, Object> data) {
        Object from = result;
        if (result instanceof List<?> list) {
            if (list.isEmpty()) {
                throw WapiError.noSearchResult(data, object);
            }
            from = list.getFirst();
        }
        for (Map.Entry<String, Object> a : assignments.entrySet()) {
            String field = String.valueOf(a.getValue());
            Object value = from instanceof Map<?, ?> m ? m.get(field) : field.equals("_ref") ? from : null;
            if (value == null) throw WapiError.proto("Field " + field + " for assign_state is not in the result");
            state.put(a.getKey(), value);
        }
    }

    private String substitute(String s) {
        Matcher m = STATE.matcher(s);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            Object v = state.get(m.group(1));
            if (v == null) throw WapiError.proto("State variable " + m.group(1) + " is not set");
            m.appendReplacement(out, Matcher.quoteReplacement(String.valueOf(v)));
        }
        return m.appendTail(out).toString();
    }

    private Object substituteAll(Object v) {
        if (v instanceof String s) return substitute(s);
        if (v instanceof Map<?, ?> m) {
            Map<String, Object> out = new LinkedHashMap<>();
            m.forEach((k, x) -> out.put(String.valueOf(k), substituteAll(x)));
            return out;
        }
        if (v instanceof List<?> l) {
            List<Object> out = new ArrayList<>();
            for (Object x : l) out.add(substituteAll(x));
            return out;
        }
        return v;
    }

    private static String requireObject(String object, String method) {
        if (object == null || object.isEmpty())
            throw WapiError.proto("Required field missing: object (for " + method + ")");
        return object;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> asMap(Object v, String field) {
        if (!(v instanceof Map<?, ?>)) throw WapiError.proto("Invalid value for " + field + ": must be an object");
        return (Map<String, Object>) v;
    }

    private static WapiApi.Query query(Map<String, Object> args) {
        WapiApi.Query q = new WapiApi.Query();
        args.forEach((k, v) -> {
            if (k.startsWith("_")) q.controls.put(k, String.valueOf(v));
            else q.args.add(Map.entry(k, String.valueOf(v)));
        });
        return q;
    }
}
