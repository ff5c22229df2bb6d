package infobloxcni.wapisim;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A WAPI error as the grid reports it: an HTTP status and the JSON body
 * {@code {"Error": ..., "code": ..., "text": ...}}. Thrown by the simulator's direct Java helpers
 * ({@link WapiSimulator#createObject}) with exactly what the HTTP API would have answered.
 */
public final class WapiError extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int status;
    private final String error;
    private final String code;
    private final String text;

    public WapiError(int status, String error, String code, String text) {
        super(status + " " + code + ": " + text);
        this.status = status;
        this.error = error;
        this.code = code;
        this.text = text;
    }

    /** HTTP status the grid answers with (400, 401, 404, ...). */
    public int status() {
        return status;
    }

    /** The {@code Error} member, e.g. {@code AdmConDataError: None (IBDataConflictError: IB.Data.Conflict:...)}. */
    public String error() {
        return error;
    }

    /** The {@code code} member, e.g. {@code Client.Ibap.Data.Conflict}. */
    public String code() {
        return code;
    }

    /** The {@code text} member: the human-readable message. */
    public String text() {
        return text;
    }

    /** The JSON body as a map, members in the grid's order. */
    public Map<String, Object> body() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("Error", error);
        m.put("code", code);
        m.put("text", text);
        return m;
    }

    // ---- the grid's error families ----

    /** 400 {@code Client.Ibap.Proto}: the request itself is malformed or names something unknown. */
    static WapiError proto(String text) {
        return new WapiError(400, "AdmConProtoError: " + text, "Client.Ibap.Proto", text);
    }

    /** 400 {@code Client.Ibap.Data.Conflict}: the object would clash with an existing one. */
    static WapiError conflict(String text) {
        return new WapiError(
                400,
                "AdmConDataError: None (IBDataConflictError: IB.Data.Conflict:" + text + ")",
                "Client.Ibap.Data.Conflict",
                text);
    }

    /** 400 {@code Client.Ibap.Data}: the data does not allow the operation (full network, missing view...). */
    static WapiError data(String text) {
        return new WapiError(
                400, "AdmConDataError: None (IBDataError: IB.Data:" + text + ")", "Client.Ibap.Data", text);
    }

    /**
     * 400 {@code Client.Ibap.Proto} for a search inside a request that finds nothing, in a grid's
     * words: {@code The search parameters {"network": "10.0.0.0/8"} for object networkcontainer did not
     * return any result} (the parameters as Python's json.dumps writes them, as a grid's text shows).
     */
    static WapiError noSearchResult(Map<?, ?> params, String objectType) {
        StringBuilder b = new StringBuilder("{");
        for (Map.Entry<?, ?> e : params.entrySet()) {
            if (b.length() > 1) b.append(", ");
            b.append(Json.write(String.valueOf(e.getKey()))).append(": ").append(Json.write(e.getValue()));
        }
        return proto(
                "The search parameters " + b.append('}') + " for object " + objectType + " did not return any result");
    }

    /** 404 {@code Client.Ibap.Data.NotFound}: an unknown reference. */
    static WapiError notFound(String text) {
        return new WapiError(404, "AdmConDataNotFoundError: " + text, "Client.Ibap.Data.NotFound", text);
    }
}
