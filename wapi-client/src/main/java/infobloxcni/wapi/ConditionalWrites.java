package infobloxcni.wapi;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.InterruptedIOException;
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
    private static final System.Logger LOG = System.getLogger(ConditionalWrites.class.getName());
    private static final String NO_REQUEST_OBJECT = "Unknown object type (request)";
    private static final String STATE = "claimed";
    private static final int LOOKS = 3;

    /** The write to make: DELETE, or PUT with a body; {@code alreadyDone}: an object that shows it arrived. */
    record Write(String method, ObjectNode body, Predicate<FixedAddress> alreadyDone) {
        static Write delete() {
            return new Write("DELETE", null, holder -> false);
        }

        static Write update(ObjectNode body, Predicate<FixedAddress> alreadyDone) {
            return new Write("PUT", body, alreadyDone);
        }
    }

    private final WapiClient wapi;
    private volatile boolean requestObject = true;

    ConditionalWrites(WapiClient wapi) {
        this.wapi = wapi;
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
                    : wapi.findFixedAddressByIp(view, ipv4addr).orElse(null);
            if (holder == null) return VerifiedWrite.absent();
            if (look > 1 && write.alreadyDone().test(holder)) return VerifiedWrite.written(holder);
            ReservationClaim claim =
                    claims.stream().filter(c -> c.matches(holder)).findFirst().orElse(null);
            if (claim == null) return VerifiedWrite.heldBy(holder);
            try {
                // One step only once: when the grid refused it although the look shows the claim holds,
                // the refusal was of the write itself (an EA the grid lacks, say), and the plain write
                // below gets the grid's own words for it.
                if (!oneStepTried && oneStepFor(claim)) {
                    oneStepTried = true;
                    VerifiedWrite done = inOneStep(view, ipv4addr, claim, write);
                    if (done != null) return done;
                    continue; // refused, or it matched a moment ago and not now: look again
                }
                JsonNode result = wapi.executeOnce(write.method(), url(holder.ref(), write), write.body());
                return VerifiedWrite.written(result.isObject() ? WapiClient.toFixedAddress(result) : holder);
            } catch (WapiException.NotFound gone) {
                return VerifiedWrite.absent(); // deleted by someone else between the look and the write
            } catch (WapiClient.RetryableFailure broken) {
                if (look == LOOKS) throw broken.failure;
                // the connection broke: look again before writing again
            } catch (WapiException.Transient unknown) {
                // a 5xx after the write was sent: it may have been applied; look again (a timeout is
                // not looked past: a grid that did not answer in time would keep the look waiting too)
                if (!unknown.mayHaveBeenApplied()
                        || unknown.getCause() instanceof InterruptedIOException
                        || look == LOOKS) throw unknown;
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
        return requestObject && claim.comment() != null;
    }

    /** The one-step form; null when it could not tell (no request object, refused, connection broken). */
    private VerifiedWrite inOneStep(String view, String ipv4addr, ReservationClaim claim, Write write) {
        if (!oneStepFor(claim)) return null;
        JsonNodeFactory f = JsonNodeFactory.instance;
        ArrayNode body = f.arrayNode();
        ObjectNode get = body.addObject().put("method", "GET").put("object", "fixedaddress");
        ObjectNode filter = get.putObject("data")
                .put("ipv4addr", ipv4addr)
                .put("network_view", view)
                .put("comment", claim.comment());
        if (claim.network() != null) filter.put("network", claim.network());
        for (Map.Entry<String, String> ea : claim.extattrs().entrySet()) filter.put("*" + ea.getKey(), ea.getValue());
        get.putObject("assign_state").put(STATE, "_ref");
        get.put("discard", true);
        ObjectNode change = body.addObject()
                .put("method", write.method())
                .put("object", "##STATE:" + STATE + ":##")
                .put("enable_substitution", true);
        if (write.body() != null) {
            change.set("data", write.body());
            change.putObject("args").put("_return_fields", WapiClient.FIXED_ADDRESS_FIELDS);
        }
        try {
            JsonNode result =
                    wapi.executeOnce("POST", wapi.objectUrl("request"), body).path(0);
            FixedAddress holder = result.isObject()
                    ? WapiClient.toFixedAddress(result)
                    : new FixedAddress(
                            result.asText(null),
                            ipv4addr,
                            null,
                            null,
                            claim.comment(),
                            null,
                            view,
                            null,
                            claim.extattrs());
            return VerifiedWrite.written(holder);
        } catch (WapiException.Rejected refused) {
            if (refused.gridText() != null && refused.gridText().contains(NO_REQUEST_OBJECT)) {
                requestObject = false;
                LOG.log(
                        System.Logger.Level.WARNING,
                        "the grid has no multiple-request object (WAPI {0}): each release checks, then "
                                + "deletes, in two round trips",
                        wapi.config().wapiVersion());
            }
            return null;
        } catch (WapiException.NotFound | WapiException.Conflict refused) {
            return null;
        } catch (WapiClient.RetryableFailure neverSent) {
            return null; // the look that follows tells whether the grid is there at all
        } catch (WapiException.Transient lost) {
            // A 5xx or a broken connection after sending: applied or not, the look that follows tells.
            // A timeout is not looked past: the grid did not answer in time, so a look would wait as long.
            if (lost.mayHaveBeenApplied() && !(lost.getCause() instanceof InterruptedIOException)) return null;
            throw lost;
        }
    }

    private okhttp3.HttpUrl url(String ref, Write write) {
        okhttp3.HttpUrl.Builder url = wapi.refUrl(ref);
        if (write.body() != null) url.addQueryParameter("_return_fields", WapiClient.FIXED_ADDRESS_FIELDS);
        return url.build();
    }
}
