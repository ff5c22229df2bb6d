package infobloxcni.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Instant;
import org.junit.jupiter.api.Test;

class AttachmentTest {

    @Test
    void keyRejectsNullAndEmpty() {
        assertThrows(NullPointerException.class, () -> new AttachmentKey(null, "c", "eth0"));
        assertThrows(NullPointerException.class, () -> new AttachmentKey("n", null, "eth0"));
        assertThrows(NullPointerException.class, () -> new AttachmentKey("n", "c", null));
        assertThrows(IllegalArgumentException.class, () -> new AttachmentKey("", "c", "eth0"));
        assertThrows(IllegalArgumentException.class, () -> new AttachmentKey("n", "", "eth0"));
        assertThrows(IllegalArgumentException.class, () -> new AttachmentKey("n", "c", ""));
    }

    @Test
    void attachmentValidation() {
        AttachmentKey k = new AttachmentKey("n", "c", "eth0");
        Instant now = Instant.now();
        assertThrows(NullPointerException.class, () -> Attachment.pending(null, "default", null, now));
        assertThrows(
                IllegalArgumentException.class,
                () -> new Attachment(
                        k,
                        AttachmentState.ALLOCATED,
                        "10.0.0.1",
                        129,
                        null,
                        null,
                        null,
                        null,
                        null,
                        now,
                        now,
                        0,
                        null));
        assertThrows(
                IllegalArgumentException.class,
                () -> new Attachment(
                        k,
                        AttachmentState.ALLOCATED,
                        "10.0.0.1",
                        24,
                        null,
                        null,
                        null,
                        null,
                        null,
                        now,
                        now,
                        -1,
                        null));
        assertThrows(
                NullPointerException.class,
                () -> new Attachment(k, null, "10.0.0.1", 24, null, null, null, null, null, now, now, 0, null));
    }

    @Test
    void pendingAndWithers() {
        AttachmentKey k = new AttachmentKey("n", "c", "eth0");
        Instant t = Instant.parse("2024-01-01T00:00:00Z");
        Attachment p = Attachment.pending(k, "default", "aa:bb:cc:dd:ee:ff", t);
        assertEquals(AttachmentState.ADD_PENDING, p.state());
        assertEquals(0, p.attempts());
        assertEquals(t, p.created());
        assertEquals(t, p.updated());
        assertNull(p.address());
        assertNull(p.ref());

        Attachment a = p.withAttempt()
                .withAllocation("10.0.0.5", 24, "10.0.0.1", "fixedaddress/x", "10.0.0.0/24")
                .withState(AttachmentState.ALLOCATED)
                .withError("boom");
        assertEquals(1, a.attempts());
        assertEquals("10.0.0.5", a.address());
        assertEquals(24, a.prefixLength());
        assertEquals("10.0.0.1", a.gateway());
        assertEquals("fixedaddress/x", a.ref());
        assertEquals("10.0.0.0/24", a.cidr());
        assertEquals(AttachmentState.ALLOCATED, a.state());
        assertEquals("boom", a.lastError());
        assertEquals(t, a.created());
        assertEquals(t, a.updated(), "withers read no clock: the journal's writer stamps updated");
        assertNull(a.withError(null).lastError());
        assertEquals(t, a.withUpdated(t).updated());
        assertEquals("r2", a.withRef("r2").ref());
        assertEquals("m2", a.withMac("m2").mac());
    }
}
