package infobloxcni.daemon.observe;

import infobloxcni.daemon.cni.CniRequest;

/** Hears of every CNI operation answered: the daemon's metrics, when they are on. */
@FunctionalInterface
public interface Operations {
    Operations NONE = (command, outcome, nanos) -> {};

    /**
     * @param command the verb, null when the request's CNI_COMMAND named none (never the raw text:
     *     it becomes a label)
     * @param outcome "ok", or the CNI error code of the answer
     */
    void answered(CniRequest.Command command, String outcome, long nanos);

    /** This, then {@code next}. */
    default Operations and(Operations next) {
        return (command, outcome, nanos) -> {
            answered(command, outcome, nanos);
            next.answered(command, outcome, nanos);
        };
    }
}
