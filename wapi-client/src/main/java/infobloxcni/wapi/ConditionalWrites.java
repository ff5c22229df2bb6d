package infobloxcni.wapi;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.InterruptedIOException;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Writes (DELETE, PUT) to a fixed address only while it provably is the claimant's. A ref names a
 * key (IP and view), not an object, so the object at the key is checked against a
 * {@link ReservationClaim} first, and the check and the write are kept as close to one step as
 * WAPI allows:
 * <ol>
 *   <li><b>One step</b>, where the grid has the multiple-request object: {@code POST request}
 *       with a GET filtered by IP, view, comment and EAs that assigns {@code _ref} to a state,
 *       then the write on {@code ##STATE:claimed:##}. The grid runs both in one transaction and
 *       fails the whole request when the GET finds nothing (Infoblox's go-client builds its lock
 *       on that), so nothing but the claimed object can be written. One round trip. The error
 *       text of a GET that found nothing is not public, so any refusal only means "look".</li>
 *   <li><b>Look, then write</b>, where the grid lacks it (it answers "Unknown object type
 *       (request)"; remembered), where the claim cannot be put as a search (the original
 *       driver's reservations carry no comment, and "no comment" is no search term), and after a
 *       one-step write was refused: search the address, hold what it holds against the claims,
 *       write by the ref the search just returned. Two round trips; what is left between them is
 *       someone else deleting this claimant's object and another reserving the same address
 *       within that round trip.</li>
 * </ol>
 * A write whose connection broke is not repeated blind: the address is looked at again first,
 * because a DELETE that did arrive may have freed it, and the grid hands a freed address out
 * again at once.
 */
final class ConditionalWrites {
    private static final int LOOKS = 3;

    /** The write to make: DELETE, or PUT with a body; {@code alreadyDone}: an object that shows it arrived. */
    record Write(String method, ObjectNode body, Predicate<FixedAddress> alreadyDone) {
        static Write delete() {
            return new Write("DELETE", null, holder -> false);
        }

        /**
         * Merges {@code changes} (their EAs too) and removes the EAs named; an object that already
         * carries all that shows it arrived.
         */
        static Write update(FixedAddressSpec changes, Collection<String> removeEas) {
            return new Write(
                    "PUT",
                    WapiJson.changesBody(changes, removeEas),
                    holder -> carries(holder, changes) && removeEas.stream().noneMatch(holder.extattrs()::containsKey));
        }

        /** An update answers the object as written; a delete, its ref. */
        String returnFields() {
            return body == null ? null : WapiJson.FIXED_ADDRESS_FIELDS;
        }

        private static boolean carries(FixedAddress r, FixedAddressSpec changes) {
            if (changes.mac() != null && !changes.mac().equalsIgnoreCase(String.valueOf(r.mac()))) return false;
            if (changes.name() != null && !changes.name().equals(r.name() == null ? "" : r.name())) return false;
            if (changes.comment() != null && !changes.comment().equals(r.comment())) return false;
            for (Map.Entry<String, String> e : changes.extattrs().entrySet()) {
                if (!e.getValue().equals(r.ea(e.getKey()))) return false;
            }
            return true;
        }
    }

    private final FixedAddresses fixedAddresses;
    private final WapiObjects objects;
    private final RequestObject requestObject;

    ConditionalWrites(FixedAddresses fixedAddresses, WapiObjects objects, RequestObject requestObject) {
        this.fixedAddresses = fixedAddresses;
        this.objects = objects;
        this.requestObject = requestObject;
    }

    VerifiedWrite write(String view, String ipv4addr, List<ReservationClaim> claims, FixedAddress seen, Write write) {
        if (seen != null && !(ipv4addr.equals(seen.ipv4addr()) && view.equals(seen.networkView()))) {
            throw new IllegalArgumentException("seen " + seen.ref() + " is not at " + ipv4addr + " in " + view);
        }
        boolean oneStepTried = false;
        if (seen == null) {
            VerifiedWrite done = inOneStep(view, ipv4addr, claims.getFirst(), write);
            if (done != null) return done;
            oneStepTried = oneStepFor(claims.getFirst());
        }
        for (int look = 1; look <= LOOKS; look++) {
            FixedAddress holder = look == 1 && seen != null
                    ? seen
                    : fixedAddresses.findByIp(view, ipv4addr).orElse(null);
            if (holder == null) return VerifiedWrite.absent();
            if (look > 1 && write.alreadyDone().test(holder)) return VerifiedWrite.written(holder);
            ReservationClaim claim =
                    claims.stream().filter(c -> c.matches(holder)).findFirst().orElse(null);
            if (claim == null) return VerifiedWrite.heldBy(holder);
            // One step only once: when the grid refused it although the look shows the claim holds,
            // the refusal was of the write itself (an EA the grid lacks, say), and the plain write
            // below gets the grid's own words for it.
            if (!oneStepTried && oneStepFor(claim)) {
                oneStepTried = true;
                VerifiedWrite done = inOneStep(view, ipv4addr, claim, write);
                if (done != null) return done;
                continue; // refused, or it matched a moment ago and not now: look again
            }
            boolean looksLeft = look < LOOKS;
            switch (objects.writeOnce(write.method(), holder.ref(), write.body(), write.returnFields())) {
                case Attempt.Answered(JsonNode answer) -> {
                    return written(answer, holder);
                }
                case Attempt.Failed(WapiException.NotFound _) -> {
                    return VerifiedWrite.absent(); // deleted by someone else between the look and the write
                }
                // the connection broke: look again before writing again
                case Attempt.Retryable _ when looksLeft -> {}
                // a 5xx after the write was sent: it may have been applied; look again
                case Attempt.Failed(WapiException.Transient unknown) when looksLeft && lookPast(unknown) -> {}
                case Attempt.Retryable(WapiException.Transient broken) -> throw broken;
                case Attempt.Failed(WapiException failure) -> throw failure;
            }
        }
        throw new WapiException.Transient(
                write.method() + " fixedaddress " + ipv4addr + " in " + view
                        + ": the reservation kept changing while it was being checked; try again later",
                0,
                null,
                null,
                false,
                null);
    }

    /** Whether the grid has the request object (as far as known) and the claim can be put as a search. */
    private boolean oneStepFor(ReservationClaim claim) {
        return requestObject.available() && claim.comment() != null;
    }

    /** The one-step form; null when it could not tell (no request object, refused, connection broken). */
    private VerifiedWrite inOneStep(String view, String ipv4addr, ReservationClaim claim, Write write) {
        if (!oneStepFor(claim)) return null;
        Attempt attempt = requestObject.writeFound(
                "fixedaddress",
                WapiJson.claimSearch(view, ipv4addr, claim),
                write.method(),
                write.body(),
                write.returnFields());
        return switch (attempt) {
            // a delete answers the ref alone: the holder is what the search matched
            case Attempt.Answered(JsonNode answer) ->
                written(
                        answer,
                        new FixedAddress(
                                answer.asText(null),
                                ipv4addr,
                                null,
                                null,
                                claim.comment(),
                                null,
                                view,
                                null,
                                claim.extattrs()));
            // refused (a missing request object is remembered), or the search found nothing: the look tells
            case Attempt.Failed(WapiException.Rejected _),
                    Attempt.Failed(WapiException.NotFound _),
                    Attempt.Failed(WapiException.Conflict _) -> null;
            // never sent: the look that follows tells whether the grid is there at all
            case Attempt.Retryable _ -> null;
            // a 5xx or a broken connection after sending: applied or not, the look that follows tells
            case Attempt.Failed(WapiException.Transient lost) when lookPast(lost) -> null;
            case Attempt.Failed(WapiException failure) -> throw failure;
        };
    }

    /**
     * Whether a write that failed this way is looked past (the address looked at again) rather
     * than thrown: only when it may have been applied, and not after a timeout, because a grid
     * that did not answer in time would keep the look waiting too.
     */
    private static boolean lookPast(WapiException.Transient failure) {
        return failure.mayHaveBeenApplied() && !(failure.getCause() instanceof InterruptedIOException);
    }

    /** Written: the object the grid answered, or {@code known} when it answered none (a delete). */
    private static VerifiedWrite written(JsonNode answer, FixedAddress known) {
        return VerifiedWrite.written(answer.isObject() ? WapiJson.toFixedAddress(answer) : known);
    }
}
