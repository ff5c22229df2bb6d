package infobloxcni.store;

import java.time.Instant;
import java.util.Objects;

/**
 * One attachment record as the journal stores it. Immutable; the withers return a copy.
 *
 * <p>Only {@code key} and {@code state} are required. {@code prefixLength} is 0..128 (0 while
 * unknown) and {@code attempts} is non-negative; every other field may be null. The store keeps
 * exactly what it is given (Instants to the nanosecond); it never changes a field by itself.
 *
 * <p>The withers change only what they name: none reads a clock. {@code updated} is set by
 * {@link #withUpdated(Instant)}, which the daemon's journal calls with its own clock on every
 * write. None of them changes {@code state} except {@link #withState}.
 */
public record Attachment(
        AttachmentKey key,
        AttachmentState state,
        String address,
        int prefixLength,
        String gateway,
        String ref,
        String networkView,
        String cidr,
        String mac,
        Instant created,
        Instant updated,
        int attempts,
        String lastError,
        String podName,
        boolean requested) {

    public Attachment {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(state, "state");
        if (prefixLength < 0 || prefixLength > 128) {
            throw new IllegalArgumentException("prefixLength must be 0..128, got " + prefixLength);
        }
        if (attempts < 0) {
            throw new IllegalArgumentException("attempts must be >= 0, got " + attempts);
        }
    }

    /** A record of an address the grid chose (as every record of schema versions 1 and 2 reads). */
    public Attachment(
            AttachmentKey key,
            AttachmentState state,
            String address,
            int prefixLength,
            String gateway,
            String ref,
            String networkView,
            String cidr,
            String mac,
            Instant created,
            Instant updated,
            int attempts,
            String lastError,
            String podName) {
        this(
                key,
                state,
                address,
                prefixLength,
                gateway,
                ref,
                networkView,
                cidr,
                mac,
                created,
                updated,
                attempts,
                lastError,
                podName,
                false);
    }

    /** A record without a pod name (as every record of schema version 1 reads). */
    public Attachment(
            AttachmentKey key,
            AttachmentState state,
            String address,
            int prefixLength,
            String gateway,
            String ref,
            String networkView,
            String cidr,
            String mac,
            Instant created,
            Instant updated,
            int attempts,
            String lastError) {
        this(
                key,
                state,
                address,
                prefixLength,
                gateway,
                ref,
                networkView,
                cidr,
                mac,
                created,
                updated,
                attempts,
                lastError,
                null,
                false);
    }

    /** A new ADD intent: state ADD_PENDING, attempts 0, created = updated = now, nothing allocated. */
    public static Attachment pending(AttachmentKey key, String networkView, String mac, Instant now) {
        return new Attachment(
                key, AttachmentState.ADD_PENDING, null, 0, null, null, networkView, null, mac, now, now, 0, null);
    }

    /** The same record under another key (a release moved to a key of its own). */
    public Attachment withKey(AttachmentKey newKey) {
        Objects.requireNonNull(newKey, "key");
        return with(d -> d.key = newKey);
    }

    /** Same record in another state (the daemon decides whether the transition is legal). */
    public Attachment withState(AttachmentState newState) {
        return with(d -> d.state = newState);
    }

    /** Records what the grid allocated. Does not change the state: chain {@code withState(ALLOCATED)}. */
    public Attachment withAllocation(
            String newAddress, int newPrefixLength, String newGateway, String newRef, String newCidr) {
        return with(d -> {
            d.address = newAddress;
            d.prefixLength = newPrefixLength;
            d.gateway = newGateway;
            d.ref = newRef;
            d.cidr = newCidr;
        });
    }

    /** Sets (or with null clears) the last error. */
    public Attachment withError(String error) {
        return with(d -> d.lastError = error);
    }

    /** One more attempt: attempts + 1. */
    public Attachment withAttempt() {
        return with(d -> d.attempts++);
    }

    /** Sets the grid object reference. */
    public Attachment withRef(String newRef) {
        return with(d -> d.ref = newRef);
    }

    /** Sets the MAC address. */
    public Attachment withMac(String newMac) {
        return with(d -> d.mac = newMac);
    }

    /** Sets the pod name (K8S_POD_NAME), which a reservation made later (from the pool) is tagged with. */
    public Attachment withPodName(String newPodName) {
        return with(d -> d.podName = newPodName);
    }

    /**
     * Marks the address as one the runtime asked for ({@code runtimeConfig.ips}, {@code args.cni.ips},
     * {@code CNI_ARGS IP=}): its DEL releases it on the grid, never into this host's pool.
     */
    public Attachment withRequested(boolean isRequested) {
        return with(d -> d.requested = isRequested);
    }

    /** Same record with another {@code updated} time (the journal sets it, from its clock, on every write). */
    public Attachment withUpdated(Instant newUpdated) {
        return with(d -> d.updated = newUpdated);
    }

    /** A copy with the changes {@code change} makes to a draft of every field. */
    private Attachment with(java.util.function.Consumer<Draft> change) {
        Draft d = new Draft(this);
        change.accept(d);
        return d.build();
    }

    /** Every field, changeable: what the withers edit before the copy is built (and checked). */
    private static final class Draft {
        AttachmentKey key;
        AttachmentState state;
        String address;
        int prefixLength;
        String gateway;
        String ref;
        String networkView;
        String cidr;
        String mac;
        Instant created;
        Instant updated;
        int attempts;
        String lastError;
        String podName;
        boolean requested;

        Draft(Attachment a) {
            key = a.key;
            state = a.state;
            address = a.address;
            prefixLength = a.prefixLength;
            gateway = a.gateway;
            ref = a.ref;
            networkView = a.networkView;
            cidr = a.cidr;
            mac = a.mac;
            created = a.created;
            updated = a.updated;
            attempts = a.attempts;
            lastError = a.lastError;
            podName = a.podName;
            requested = a.requested;
        }

        Attachment build() {
            return new Attachment(
                    key,
                    state,
                    address,
                    prefixLength,
                    gateway,
                    ref,
                    networkView,
                    cidr,
                    mac,
                    created,
                    updated,
                    attempts,
                    lastError,
                    podName,
                    requested);
        }
    }
}
