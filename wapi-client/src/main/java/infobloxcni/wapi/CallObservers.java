package infobloxcni.wapi;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import okhttp3.HttpUrl;

/**
 * Tells every {@link WapiCall.Observer} of each call, on the calling thread. An observer that
 * throws is logged and the others still hear of it: counting calls must never fail one.
 */
final class CallObservers {
    private static final System.Logger LOG = System.getLogger(CallObservers.class.getName());

    private final List<WapiCall.Observer> observers = new CopyOnWriteArrayList<>();
    private final WapiUrls urls;

    CallObservers(WapiUrls urls) {
        this.urls = urls;
    }

    void add(WapiCall.Observer observer) {
        observers.add(observer);
    }

    /** @param started {@link System#nanoTime} when the call began */
    void tell(String method, HttpUrl url, WapiCall.Outcome outcome, int status, long started) {
        if (observers.isEmpty()) return;
        WapiCall call = new WapiCall(method, urls.objectTypeOf(url), outcome, status, System.nanoTime() - started);
        for (WapiCall.Observer o : observers) {
            try {
                o.called(call);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "a WAPI call observer failed: {0}", e.toString());
            }
        }
    }
}
