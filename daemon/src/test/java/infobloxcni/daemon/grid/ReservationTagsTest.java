package infobloxcni.daemon.grid;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import infobloxcni.store.AttachmentKey;
import infobloxcni.wapi.FixedAddress;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The one rule for what is ours, alone: which reservations an attachment owns, and whose pool an address is. */
class ReservationTagsTest {
    private static final ReservationTags TAGS = new ReservationTags("host-a", "cluster-1", "Kubernetes");
    private static final AttachmentKey KEY = new AttachmentKey("net1", "c1", "eth0");

    private static FixedAddress reservation(String comment, Map<String, String> eas) {
        return new FixedAddress(
                "fixedaddress/ZG5z:10.0.0.5/default",
                "10.0.0.5",
                "00:00:00:00:00:00",
                null,
                comment,
                "10.0.0.0/24",
                "default",
                "MAC_ADDRESS",
                eas);
    }

    private static Map<String, String> originalDrivers(String vmId) {
        return Map.of("VM ID", vmId, "CMP Type", "Kubernetes", "Tenant ID", "cluster-1", "Cloud API Owned", "True");
    }

    @Test
    void ourCommentAndVmIdAreOurs() {
        assertTrue(TAGS.owns(reservation("infoblox-cni host=host-a net=net1 if=eth0", Map.of("VM ID", "c1")), KEY));
        assertEquals(KEY, TAGS.keyOf(reservation("infoblox-cni host=host-a net=net1 if=eth0", Map.of("VM ID", "c1"))));
    }

    @Test
    void anotherHostNetworkInterfaceOrContainerIsNot() {
        assertFalse(
                TAGS.owns(reservation("infoblox-cni host=host-b net=net1 if=eth0", Map.of("VM ID", "c1")), KEY),
                "another host");
        assertFalse(
                TAGS.owns(reservation("infoblox-cni host=host-a net=net2 if=eth0", Map.of("VM ID", "c1")), KEY),
                "another network");
        assertFalse(
                TAGS.owns(reservation("infoblox-cni host=host-a net=net1 if=net1", Map.of("VM ID", "c1")), KEY),
                "another interface");
        assertFalse(
                TAGS.owns(reservation("infoblox-cni host=host-a net=net1 if=eth0", Map.of("VM ID", "c2")), KEY),
                "another container");
        assertFalse(
                TAGS.owns(
                        reservation("infoblox-cni host=host-a net=net1 if=eth0 (kept by ops)", Map.of("VM ID", "c1")),
                        KEY),
                "a comment that says more than ours is not provably ours");
        assertNull(TAGS.keyOf(reservation("infoblox-cni host=host-b net=net1 if=eth0", Map.of("VM ID", "c1"))));
    }

    @Test
    void theOriginalDriversReservationIsOursOnlyWithAllItsEasAndNoComment() {
        assertTrue(TAGS.owns(reservation(null, originalDrivers("c1")), KEY));
        assertTrue(TAGS.owns(reservation("", originalDrivers("c1")), KEY), "an empty comment is none");
        Map<String, String> openstack = new HashMap<>(originalDrivers("c1"));
        openstack.put("CMP Type", "OpenStack");
        assertFalse(TAGS.owns(reservation(null, openstack), KEY), "another cloud platform with the same VM ID");
        Map<String, String> otherCluster = new HashMap<>(originalDrivers("c1"));
        otherCluster.put("Tenant ID", "cluster-2");
        assertFalse(TAGS.owns(reservation(null, otherCluster), KEY), "another cluster");
        assertFalse(TAGS.owns(reservation(null, Map.of("VM ID", "c1")), KEY), "a VM ID alone proves nothing");
        assertFalse(TAGS.owns(reservation("printer", originalDrivers("c1")), KEY), "someone's comment");
    }

    @Test
    void onlyFixedAddressesAreReservations() {
        FixedAddress network = new FixedAddress(
                "network/ZG5z:10.0.0.0/24/default",
                "10.0.0.5",
                null,
                null,
                "infoblox-cni host=host-a net=net1 if=eth0",
                null,
                "default",
                null,
                Map.of("VM ID", "c1"));
        assertFalse(TAGS.owns(network, KEY));
    }

    @Test
    void poolAddressesAreTheHostsAndNoContainers() {
        FixedAddress pool = reservation(
                "infoblox-cni host=host-a net=net1 pool", Map.of("Tenant ID", "cluster-1", "Cloud API Owned", "True"));
        assertEquals("net1", TAGS.poolNetworkOf(pool));
        assertTrue(TAGS.poolClaim("net1").matches(pool));
        assertFalse(TAGS.poolClaim("net2").matches(pool));
        assertNull(TAGS.keyOf(pool), "a pool address belongs to no attachment");
        assertFalse(TAGS.owns(pool, KEY));
        assertNull(new ReservationTags("host-b", "cluster-1", "Kubernetes").poolNetworkOf(pool), "another host's pool");
        assertNull(
                TAGS.poolNetworkOf(reservation("infoblox-cni host=host-a net=net1 pool", Map.of("VM ID", "c9"))),
                "with a VM ID it is a container's");
        assertTrue(Pattern.compile(ReservationTags.poolCommentRegex("host.a"))
                .matcher("infoblox-cni host=host.a net=n pool")
                .find());
        assertFalse(
                Pattern.compile(ReservationTags.poolCommentRegex("host.a"))
                        .matcher("infoblox-cni host=hostXa net=n pool")
                        .find(),
                "a dot in a host name matches only a dot");
    }

    @Test
    void thisHostsCommentRegexFindsOnlyThisHost() {
        Pattern p = Pattern.compile(TAGS.thisHostCommentRegex("net1"));
        assertTrue(p.matcher("infoblox-cni host=host-a net=net1 if=eth0").find());
        assertFalse(p.matcher("infoblox-cni host=host-ab net=net1 if=eth0").find());
        assertFalse(p.matcher("infoblox-cni host=host-a net=net10 if=eth0").find());
    }
}
