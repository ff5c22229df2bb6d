package infobloxcni.daemon.grid;

import infobloxcni.wapi.WapiException;
import infobloxcni.wire.CniError;

/** The one place where a grid failure becomes a CNI error code. */
public final class GridErrors {
    private GridErrors() {}

    /**
     * Whether the grid refused because the network (or its view) is not there: a {@code NotFound}
     * (a view: "Network View v not found"), {@code func:nextavailableip} on a network that does
     * not exist ("10.0.0.0/24,v does not match any unique networks/ranges (ipv4addr)", as real
     * grids answer it: docs/wapi-simulator.md), or an address in no network. The daemon then
     * makes sure of the network again; it is never "someone took the address".
     */
    public static boolean networkGone(WapiException e) {
        if (e instanceof WapiException.NotFound) return true;
        String text = e.gridText();
        return e instanceof WapiException.Rejected
                && text != null
                && (text.contains("does not match any unique networks") || text.contains("Cannot find network"));
    }

    public static CniError toCni(WapiException e, String doing) {
        String what = "grid " + doing + ": ";
        return switch (e) {
            case WapiException.Transient t ->
                new CniError(
                        CniError.TRY_AGAIN_LATER,
                        what + t.getMessage(),
                        t.mayHaveBeenApplied()
                                ? "outcome unknown; the next attempt looks on the grid before writing again"
                                : "");
            case WapiException.AuthenticationFailed a -> new CniError(CniError.GRID_AUTH_FAILED, what + a.getMessage());
            case WapiException.NetworkFull f ->
                new CniError(CniError.NETWORK_FULL, what + f.gridText(), f.getMessage());
            case WapiException.Conflict c -> new CniError(CniError.GRID_REJECTED, what + c.gridText(), c.getMessage());
            case WapiException.NotFound n -> new CniError(CniError.GRID_REJECTED, what + n.gridText(), n.getMessage());
            case WapiException.Rejected r -> new CniError(CniError.GRID_REJECTED, what + r.gridText(), r.getMessage());
        };
    }
}
