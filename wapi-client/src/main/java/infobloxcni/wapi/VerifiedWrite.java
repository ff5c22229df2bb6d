package infobloxcni.wapi;

/**
 * What a conditional write found at an address, and whether it wrote.
 *
 * @param outcome what happened
 * @param holder  the object the address held when it was looked at (null when it held none)
 */
public record VerifiedWrite(Outcome outcome, FixedAddress holder) {
    public enum Outcome {
        /** the object matched a claim and the write was made */
        WRITTEN,
        /** the address holds no fixed address: nothing to do */
        ABSENT,
        /** the address holds someone else's fixed address: left untouched */
        HELD_BY_ANOTHER
    }

    static VerifiedWrite written(FixedAddress holder) {
        return new VerifiedWrite(Outcome.WRITTEN, holder);
    }

    static VerifiedWrite absent() {
        return new VerifiedWrite(Outcome.ABSENT, null);
    }

    static VerifiedWrite heldBy(FixedAddress holder) {
        return new VerifiedWrite(Outcome.HELD_BY_ANOTHER, holder);
    }
}
