package infobloxcni.store;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** A key reads as an operator reads an attachment in a log line, never as the Java record. */
class AttachmentKeyTest {
    @Test
    void aRuntimesContainerIdIsShortenedAsRuntimesShowIt() {
        String id = "0123456789abcdef".repeat(4);
        assertEquals("net1 0123456789ab/eth0", new AttachmentKey("net1", id, "eth0").toString());
    }

    @Test
    void anyOtherIdIsShownWhole() {
        assertEquals("net1 c1/eth0", new AttachmentKey("net1", "c1", "eth0").toString());
        String named = "web-0-" + "x".repeat(60);
        assertEquals("net1 " + named + "/eth0", new AttachmentKey("net1", named, "eth0").toString());
        assertEquals("net1 ~pool/10.1.0.5", new AttachmentKey("net1", "~pool", "10.1.0.5").toString());
    }
}
