package infobloxcni.daemon;

/** Hears of every CNI operation answered: the daemon's metrics, when they are on. */
@FunctionalInterface
interface Operations {
    Operations NONE = (verb, outcome, nanos) -> {};

    /** @param outcome "ok", or the CNI error code of the answer */
    void answered(String verb, String outcome, long nanos);
}
