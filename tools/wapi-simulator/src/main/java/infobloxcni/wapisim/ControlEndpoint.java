package infobloxcni.wapisim;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The simulator's own control surface under {@code /_sim} (not WAPI, no authentication, never counted,
 * never faulted): state, counters and fault switches for demos and out-of-process tests.
 */
final class ControlEndpoint {
    private static final Set<String> FAULT_KEYS = Set.of(
            "latencyMs",
            "failNext",
            "dropBeforeApplyingNext",
            "dropAfterApplyingNext",
            "failAfterApplyingNext",
            "outage",
            "hang",
            "capacity");

    private final WapiSimulator sim;

    ControlEndpoint(WapiSimulator sim) {
        this.sim = sim;
    }

    NettyHttpServer.Outcome handle(NettyHttpServer.Request req) {
        String route = req.method().toUpperCase() + " " + req.path();
        try {
            return switch (route) {
                case "GET /_sim/state" -> ok(state());
                case "GET /_sim/counters" -> ok(counters());
                case "POST /_sim/reset-counters" -> {
                    sim.resetCounters();
                    yield ok(counters());
                }
                case "GET /_sim/faults" -> ok(faultState());
                case "POST /_sim/reset-faults" -> {
                    sim.faults().reset();
                    yield ok(faultState());
                }
                case "GET /_sim/log" -> ok(sim.requestLog());
                case "POST /_sim/expire-page-ids" -> {
                    sim.expirePageIds();
                    yield ok(Map.of("expired", true));
                }
                case "POST /_sim/faults" -> applyFaults(req.body());
                default ->
                    WapiSimulator.reply(
                            new WapiError(
                                    404,
                                    "Unknown control path " + route,
                                    "Sim.NotFound",
                                    "Unknown control path " + route + "; see docs/wapi-simulator.md"),
                            List.of());
            };
        } catch (WapiError e) {
            return WapiSimulator.reply(e, List.of());
        } catch (IllegalArgumentException | ClassCastException e) {
            return WapiSimulator.reply(
                    new WapiError(
                            400,
                            "Bad fault request: " + e.getMessage(),
                            "Sim.BadRequest",
                            String.valueOf(e.getMessage())),
                    List.of());
        }
    }

    private static NettyHttpServer.Reply ok(Object body) {
        return WapiSimulator.json(200, body, List.of());
    }

    private Map<String, Object> state() {
        Map<String, Object> out = new LinkedHashMap<>();
        for (String type : ObjectSpecs.TYPES) out.put(type, sim.objects(type));
        return out;
    }

    private Map<String, Object> counters() {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("total", sim.totalRequests());
        out.put("requests", sim.requestCounts());
        out.put("connectionsAccepted", sim.connectionsAccepted());
        out.put("openConnections", sim.openConnections());
        return out;
    }

    private Map<String, Object> faultState() {
        Faults f = sim.faults();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("latencyMs", f.latency().toMillis());
        out.put("pendingFailures", f.pendingFailures());
        out.put("pendingDropsBefore", f.pendingDropsBefore());
        out.put("pendingDropsAfter", f.pendingDropsAfter());
        out.put("pendingFailuresAfter", f.pendingFailuresAfter());
        out.put("outage", f.outage());
        out.put("hang", f.hung());
        out.put("capacity", f.capacity());
        out.put("queuedCalls", f.queuedCalls());
        out.put("callsInService", f.callsInService());
        return out;
    }

    @SuppressWarnings("unchecked")
    private NettyHttpServer.Outcome applyFaults(byte[] body) {
        Object parsed = Json.parse(body);
        if (!(parsed instanceof Map)) throw new IllegalArgumentException("body must be a JSON object");
        Map<String, Object> m = (Map<String, Object>) parsed;
        for (String k : m.keySet()) {
            if (!FAULT_KEYS.contains(k))
                throw new IllegalArgumentException("unknown key '" + k + "'; known: " + FAULT_KEYS);
        }
        // validate everything before applying anything
        Duration latency = m.containsKey("latencyMs") ? Duration.ofMillis(number(m.get("latencyMs"))) : null;
        Map<String, Object> fail = m.containsKey("failNext") ? (Map<String, Object>) m.get("failNext") : null;
        if (fail != null && (!fail.containsKey("n") || !fail.containsKey("status"))) {
            throw new IllegalArgumentException("failNext needs n and status");
        }
        Map<String, Object> failAfter =
                m.containsKey("failAfterApplyingNext") ? (Map<String, Object>) m.get("failAfterApplyingNext") : null;
        if (failAfter != null && (!failAfter.containsKey("n") || !failAfter.containsKey("status"))) {
            throw new IllegalArgumentException("failAfterApplyingNext needs n and status");
        }
        Object before = m.get("dropBeforeApplyingNext");
        Object after = m.get("dropAfterApplyingNext");
        Boolean outage = m.containsKey("outage") ? (Boolean) m.get("outage") : null;
        Boolean hang = m.containsKey("hang") ? (Boolean) m.get("hang") : null;
        Integer capacity = m.containsKey("capacity") ? (int) number(m.get("capacity")) : null;
        if (capacity != null && capacity < 0) throw new IllegalArgumentException("capacity must not be negative");
        checkCodeAndText("failNext", fail);
        checkCodeAndText("failAfterApplyingNext", failAfter);

        Faults f = sim.faults();
        if (hang != null) f.hang(hang);
        if (latency != null) f.latency(latency);
        if (capacity != null) f.capacity(capacity);
        if (fail != null) {
            int n = (int) number(fail.get("n"));
            int status = (int) number(fail.get("status"));
            String method = (String) fail.get("method");
            if (fail.containsKey("code")) {
                f.failNext(n, status, String.valueOf(fail.get("code")), String.valueOf(fail.get("text")), method);
            } else {
                f.failNext(n, status, method);
            }
        }
        if (failAfter != null) {
            int n = (int) number(failAfter.get("n"));
            int status = (int) number(failAfter.get("status"));
            String method = (String) failAfter.get("method");
            if (failAfter.containsKey("code")) {
                f.failAfterApplyingNext(
                        n,
                        status,
                        String.valueOf(failAfter.get("code")),
                        String.valueOf(failAfter.get("text")),
                        method);
            } else {
                f.failAfterApplyingNext(n, status, method);
            }
        }
        if (before != null) {
            if (before instanceof Map<?, ?> b)
                f.dropBeforeApplyingNext((int) number(b.get("n")), (String) b.get("method"));
            else f.dropBeforeApplyingNext((int) number(before));
        }
        if (after != null) {
            if (after instanceof Map<?, ?> a)
                f.dropAfterApplyingNext((int) number(a.get("n")), (String) a.get("method"));
            else f.dropAfterApplyingNext((int) number(after), null);
        }
        Map<String, Object> state = faultState();
        if (outage != null) state.put("outage", outage);
        NettyHttpServer.Reply reply = ok(state);
        if (outage == null) return reply;
        // switch only after the answer is written, so the caller gets it
        return new NettyHttpServer.Reply(reply.response(), () -> f.outage(outage));
    }

    /** A WAPI error names both its code and its text; with neither, the answer is a gateway's HTML page. */
    private static void checkCodeAndText(String key, Map<String, Object> spec) {
        if (spec != null && spec.containsKey("code") != spec.containsKey("text")) {
            throw new IllegalArgumentException(key + " needs both code and text, or neither (a gateway's HTML page)");
        }
    }

    private static long number(Object v) {
        if (v instanceof Number n) return n.longValue();
        if (v instanceof String s) return Long.parseLong(s.trim());
        throw new IllegalArgumentException("not a number: " + v);
    }
}
