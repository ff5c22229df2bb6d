package infobloxcni.daemon.grid;

import infobloxcni.daemon.cni.Ipv4Subnet;
import infobloxcni.store.Attachment;
import infobloxcni.store.AttachmentKey;
import infobloxcni.store.AttachmentState;
import infobloxcni.wapi.FixedAddress;
import java.time.Instant;

/** The one way a reservation found on the grid becomes a journal record: adopted, or completing an intent. */
public final class GridRecords {
    private GridRecords() {}

    /** An attachment the journal did not know, adopted from its reservation on the grid. */
    public static Attachment adopted(AttachmentKey key, FixedAddress r, String gateway, Instant now) {
        return completed(Attachment.pending(key, r.networkView(), r.mac(), now), r, gateway);
    }

    /** An intent (ADD_PENDING) whose reservation turned out to be on the grid. */
    public static Attachment completed(Attachment intent, FixedAddress r, String gateway) {
        return intent.withAllocation(r.ipv4addr(), prefixOf(r), gateway, r.ref(), r.network())
                .withState(AttachmentState.ALLOCATED);
    }

    /** The prefix length of the reservation's network (32 when the grid did not say). */
    public static int prefixOf(FixedAddress r) {
        return r.network() == null ? 32 : Ipv4Subnet.parse(r.network()).prefixLength();
    }
}
