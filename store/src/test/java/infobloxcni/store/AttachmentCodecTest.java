package infobloxcni.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Record version 3 carries the flags, version 2 the pod name; records of versions 1 and 2 still read. */
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
    void versionThreeRoundTripsThePodNameTheFlagsAndTheStates() throws Exception {
        for (AttachmentState state : AttachmentState.values()) {
            for (boolean requested : new boolean[] {false, true}) {
                Attachment a = A.withState(state).withRequested(requested);
                assertEquals(a, read(AttachmentCodec.encodeAttachment(a), 3));
            }
        }
        assertEquals("web-0", read(AttachmentCodec.encodeAttachment(A), 3).podName());
        assertTrue(
                read(AttachmentCodec.encodeAttachment(A.withRequested(true)), 3).requested());
    }

    @Test
    void aVersionTwoRecordReadsAsNotRequested() throws Exception {
        byte[] v3 = AttachmentCodec.encodeAttachment(A);
        Attachment a = read(Arrays.copyOf(v3, v3.length - 1), 2); // version 2 ends after podName: no flags
        assertFalse(a.requested());
        assertEquals(A, a);
    }

    @Test
    void anUnknownFlagIsCorruption() {
        byte[] v3 = AttachmentCodec.encodeAttachment(A);
        v3[v3.length - 1] = 2;
        assertThrows(AttachmentCodec.MalformedException.class, () -> read(v3, 3));
    }

    @Test
    void aVersionOneRecordReadsWithoutAPodName() throws Exception {
        Attachment old = A.withPodName(null);
        byte[] v3 = AttachmentCodec.encodeAttachment(old);
        byte[] v1 = Arrays.copyOf(v3, v3.length - 5); // version 1 ends after lastError: no podName string, no flags
        Attachment a = read(v1, 1);
        assertNull(a.podName());
        assertEquals(old, a);
    }
}
