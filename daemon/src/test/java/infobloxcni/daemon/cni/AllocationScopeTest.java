package infobloxcni.daemon.cni;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import infobloxcni.wire.CniError;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code ipam.range-start}/{@code range-end} (and host-local's names) and {@code ipam.exclude}, read and checked. */
class AllocationScopeTest {
    private static NetConf parse(String ipamExtra) throws CniError {
        String conf = "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"bridge\",\"ipam\":{\"type\":\"infoblox\""
                + ipamExtra + "}}";
        return NetConf.parse(conf.getBytes(StandardCharsets.UTF_8));
    }

    private static CniError refused(String ipamExtra) {
        CniError e = assertThrows(CniError.class, () -> parse(ipamExtra));
        assertEquals(CniError.INVALID_NETCONF, e.code(), e.getMessage());
        return e;
    }

    @Test
    void noFieldsIsTheWholeSubnet() throws CniError {
        assertTrue(parse(",\"subnet\":\"10.1.0.0/24\"").scope().isWhole());
    }

    @Test
    void ourNamesAndHostLocalsNamesGiveTheSameRange() throws CniError {
        AllocationScope ours = parse(
                        ",\"subnet\":\"10.1.0.0/24\",\"range-start\":\"10.1.0.100\",\"range-end\":\"10.1.0.110\"")
                .scope();
        AllocationScope hostLocal = parse(
                        ",\"subnet\":\"10.1.0.0/24\",\"rangeStart\":\"10.1.0.100\",\"rangeEnd\":\"10.1.0.110\"")
                .scope();
        assertEquals(ours, hostLocal);
        assertEquals("10.1.0.100-10.1.0.110", ours.range().toString());
        assertTrue(ours.allows("10.1.0.100") && ours.allows("10.1.0.110"));
        assertFalse(ours.allows("10.1.0.99") || ours.allows("10.1.0.111"));
    }

    @Test
    void everyRangeMistakeIsNamed() {
        assertTrue(refused(",\"range-start\":\"10.1.0.5\"").getMessage().contains("'ipam.range-end' is missing"));
        assertTrue(refused(",\"range-start\":\"10.1.0.9\",\"range-end\":\"10.1.0.5\"")
                .getMessage()
                .contains("'ipam.range-end': 10.1.0.5 comes before"));
        assertTrue(refused(",\"subnet\":\"10.1.0.0/24\",\"range-start\":\"10.1.0.5\",\"range-end\":\"10.1.1.5\"")
                .getMessage()
                .contains("'ipam.range-end': 10.1.1.5 is not a usable host address of 10.1.0.0/24"));
        assertTrue(refused(",\"subnet\":\"10.1.0.0/24\",\"range-start\":\"10.1.0.0\",\"range-end\":\"10.1.0.5\"")
                .getMessage()
                .contains("'ipam.range-start'"));
        assertTrue(refused(",\"range-start\":\"10.1.0.5\",\"rangeStart\":\"10.1.0.6\",\"range-end\":\"10.1.0.9\"")
                .getMessage()
                .contains("disagree"));
        assertTrue(refused(",\"range-start\":\"ten\",\"range-end\":\"10.1.0.9\"")
                .getMessage()
                .contains("'ipam.range-start'"));
        assertTrue(refused(",\"range-start\":5,\"range-end\":\"10.1.0.9\"")
                .getMessage()
                .contains("must be a string"));
    }

    @Test
    void excludesTakeAddressesAndCidrsAsAnArrayOrACommaList() throws CniError {
        AllocationScope a = parse(",\"subnet\":\"10.1.0.0/24\",\"exclude\":[\"10.1.0.2\",\"10.1.0.4/31\"]")
                .scope();
        AllocationScope b = parse(",\"subnet\":\"10.1.0.0/24\",\"exclude\":\"10.1.0.2, 10.1.0.4/31\"")
                .scope();
        assertEquals(a, b);
        assertEquals(List.of("10.1.0.2", "10.1.0.4", "10.1.0.5"), a.excludedIn(Ipv4Subnet.parse("10.1.0.0/24")));
        assertFalse(a.allows("10.1.0.5"));
        assertTrue(a.allows("10.1.0.3"));
    }

    @Test
    void excludedAddressesSentToTheGridAreOnlyThoseInsideTheSubnetAndRange() throws CniError {
        AllocationScope s = parse(
                        ",\"range-start\":\"10.1.0.10\",\"range-end\":\"10.1.0.20\",\"exclude\":[\"10.1.0.0/27\",\"10.9.0.1\"]")
                .scope();
        List<String> sent = s.excludedIn(Ipv4Subnet.parse("10.1.0.0/24"));
        assertEquals(11, sent.size(), sent.toString());
        assertEquals("10.1.0.10", sent.getFirst());
        assertEquals("10.1.0.20", sent.getLast());
        assertEquals(List.of(), AllocationScope.WHOLE.excludedIn(Ipv4Subnet.parse("10.1.0.0/24")));
    }

    @Test
    void excludeMistakesAndTooManyAddressesAreNamed() {
        assertTrue(refused(",\"exclude\":[\"10.1.0.300\"]").getMessage().startsWith("field 'ipam.exclude'"));
        assertTrue(refused(",\"exclude\":[\"10.1.0.1/24\"]").getMessage().contains("host bits"));
        assertTrue(refused(",\"exclude\":[5]").getMessage().contains("as strings"));
        assertTrue(refused(",\"exclude\":{}").getMessage().contains("must be an array"));
        assertTrue(refused(",\"exclude\":[\"10.0.0.0/21\"]").getMessage().contains("more than 1024"));
        assertTrue(refused(",\"exclude\":[\"10.0.0.0/22\",\"10.9.9.9\"]")
                .getMessage()
                .contains("more than 1024"));
        assertEquals(
                1,
                assertDoesNotThrow(() -> parse(",\"exclude\":[\"10.0.0.0/22\"]"))
                        .scope()
                        .exclude()
                        .size());
    }
}
