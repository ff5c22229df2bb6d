package infobloxcni.daemon.cni;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import infobloxcni.wire.CniError;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** host-local's {@code ipam.ranges}, read as subnet, range and gateway; what it cannot honour refused naming the field. */
class HostLocalRangesTest {
    private static NetConf parse(String ipamExtra) throws CniError {
        String conf = "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"bridge\",\"ipam\":{\"type\":\"infoblox\""
                + ipamExtra + "}}";
        return NetConf.parse(conf.getBytes(StandardCharsets.UTF_8));
    }

    private static String refused(String ipamExtra) {
        CniError e = assertThrows(CniError.class, () -> parse(ipamExtra));
        assertEquals(CniError.INVALID_NETCONF, e.code(), e.getMessage());
        return e.getMessage();
    }

    @Test
    void oneRangeIsTheSameNetconfAsOurOwnFields() throws CniError {
        NetConf hostLocal = parse(",\"ranges\":[[{\"subnet\":\"10.1.0.0/24\",\"rangeStart\":\"10.1.0.100\","
                + "\"rangeEnd\":\"10.1.0.110\",\"gateway\":\"10.1.0.254\"}]]");
        NetConf ours = parse(",\"subnet\":\"10.1.0.0/24\",\"range-start\":\"10.1.0.100\","
                + "\"range-end\":\"10.1.0.110\",\"gateway\":\"10.1.0.254\"");
        assertEquals(ours.subnet(), hostLocal.subnet());
        assertEquals(ours.gateway(), hostLocal.gateway());
        assertEquals(ours.scope(), hostLocal.scope());
        assertNull(hostLocal.unknownFieldProblem(), "ranges is known now");
    }

    @Test
    void aSubnetAloneIsTheWholeSubnet() throws CniError {
        NetConf c = parse(",\"ranges\":[[{\"subnet\":\"10.1.0.0/24\"}]]");
        assertEquals("10.1.0.0/24", c.subnet().toString());
        assertTrue(c.scope().isWhole());
    }

    @Test
    void whatOneAddressCannotHonourIsRefusedNamingTheField() {
        assertTrue(refused(",\"ranges\":[[{\"subnet\":\"10.1.0.0/24\"}],[{\"subnet\":\"10.2.0.0/24\"}]]")
                .startsWith("field 'ipam.ranges' has 2 range sets: one is supported"));
        assertTrue(refused(",\"ranges\":[[{\"subnet\":\"10.1.0.0/24\"},{\"subnet\":\"10.2.0.0/24\"}]]")
                .startsWith("field 'ipam.ranges[0]' has 2 ranges: one is supported"));
        assertTrue(refused(",\"ranges\":[]").startsWith("field 'ipam.ranges' must be an array of range sets"));
        assertTrue(refused(",\"ranges\":{\"subnet\":\"10.1.0.0/24\"}")
                .startsWith("field 'ipam.ranges' must be an array of range sets"));
        assertTrue(
                refused(",\"ranges\":[[\"10.1.0.0/24\"]]").startsWith("field 'ipam.ranges[0][0]' must be an object"));
        assertTrue(refused(",\"ranges\":[[{\"rangeStart\":\"10.1.0.9\"}]]")
                .startsWith("field 'ipam.ranges[0][0].subnet' is missing"));
    }

    @Test
    void anErrorInARangeNamesItWhereTheNetconfHasIt() {
        assertTrue(
                refused(",\"ranges\":[[{\"subnet\":\"10.1.0.0/33\"}]]").startsWith("field 'ipam.ranges[0][0].subnet'"));
        String v6 = refused(",\"ranges\":[[{\"subnet\":\"fd00::/64\"}]]");
        assertTrue(v6.startsWith("field 'ipam.ranges[0][0].subnet': IPv6"), v6);
        String outside = refused(
                ",\"ranges\":[[{\"subnet\":\"10.1.0.0/24\",\"rangeStart\":\"10.9.0.1\",\"rangeEnd\":\"10.1.0.9\"}]]");
        assertTrue(outside.contains("ipam.ranges[0][0].rangeStart"), outside);
        String gateway = refused(",\"ranges\":[[{\"subnet\":\"10.1.0.0/24\",\"gateway\":\"10.2.0.1\"}]]");
        assertTrue(gateway.startsWith("field 'ipam.ranges[0][0].gateway'"), gateway);
    }

    @Test
    void aRangeAndATopLevelFieldThatDisagreeAreRefused() throws CniError {
        String both = refused(",\"subnet\":\"10.9.0.0/24\",\"ranges\":[[{\"subnet\":\"10.1.0.0/24\"}]]");
        assertTrue(
                both.startsWith(
                        "field 'ipam.ranges[0][0].subnet' says '10.1.0.0/24' and 'ipam.subnet' says '10.9.0.0/24'"),
                both);
        assertTrue(refused(
                        ",\"rangeStart\":\"10.1.0.5\",\"ranges\":[[{\"subnet\":\"10.1.0.0/24\",\"rangeStart\":\"10.1.0.9\",\"rangeEnd\":\"10.1.0.20\"}]]")
                .contains("'ipam.rangeStart' says"));
        // the same value twice is no disagreement
        assertEquals(
                "10.1.0.0/24",
                parse(",\"subnet\":\"10.1.0.0/24\",\"ranges\":[[{\"subnet\":\"10.1.0.0/24\"}]]")
                        .subnet()
                        .toString());
    }

    @Test
    void aFieldARangeDoesNotHaveIsNamed() {
        assertTrue(refused(",\"ranges\":[[{\"subnet\":\"10.1.0.0/24\",\"rangeStrat\":\"10.1.0.9\"}]]")
                .startsWith("field 'ipam.ranges[0][0].rangeStrat' is not known"));
    }
}
