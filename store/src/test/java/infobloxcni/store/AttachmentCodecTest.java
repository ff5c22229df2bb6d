package infobloxcni.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.time.Instant;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Record version 2 carries the pod name; records of version 1 (written before it) still read. */
class AttachmentCodecTest {
    private static final Attachment A = Attachment.pending(
                    new AttachmentKey("net1", "c1", "eth0"),
                    "default",
                    "02:42:0a:00:00:02",
                    Instant.parse("2026-12-01T00:00:00Z"))
            .withAllocation("10.0.0.2", 24, "10.0.0.1", "fixedaddress/ZG5z:10.0.0.2/default", "10.0.0.0/24")
            .withPodName("web-0")
            .withState(AttachmentState.TAG_PENDING);

    private static Attachment read(byte[] body, int version) throws Exception {
        AttachmentCodec.In in = new AttachmentCodec.In(body, 0, body.length);
        Attachment a = AttachmentCodec.readAttachment(in, version);
        in.expectEnd();
        return a;
    }

    @Test
    void versionTwoRoundTripsThePodNameAndTheNewStates() throws Exception {
        for (AttachmentState state : AttachmentState.values()) {
            Attachment a = A.withState(state);
            assertEquals(a, read(AttachmentCodec.encodeAttachment(a), 2));
        }
        assertEquals("web-0", read(AttachmentCodec.encodeAttachment(A), 2).podName());
    }

    @Test
    void aVersionOneRecordReadsWithoutAPodName() throws Exception {
        Attachment old = A.withPodName(null);
        byte[] v2 = AttachmentCodec.encodeAttachment(old);
        byte[] v1 = Arrays.copyOf(v2, v2.length - 4); // version 1 ends after lastError: no podName string
        Attachment a = read(v1, 1);
        assertNull(a.podName());
        assertEquals(old, a);
    }
}
