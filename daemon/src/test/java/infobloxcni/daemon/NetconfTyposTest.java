package infobloxcni.daemon;

import static infobloxcni.daemon.TestHost.netconf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import infobloxcni.wire.CniError;
import org.junit.jupiter.api.Test;

/**
 * A typo in a netconf used to be obeyed: {@code "subent"} carved a /24 out of the default
 * container and reserved it, {@code "network-view": "cni_veiw"} created a new view and handed out
 * an address a container on the same bridge already had. Unknown {@code ipam} fields now refuse
 * the ADD (7, naming the field and the nearest known one) before any grid write;
 * {@code --lenient-netconf} logs them instead; {@code --create-views=false} refuses a view the grid
 * lacks.
 */
class NetconfTyposTest extends GridAndDaemonTest {

    @Test
    void aTypoIsRefusedNamingTheFieldAndWhatWasMeantBeforeAnyGridWrite() {
        long before = grid.totalRequests();
        var subent = host.call("ADD", "c1", "eth0", netconf("1.1.0", "net1", "\"subent\":\"10.20.0.0/24\""));
        assertEquals(CniError.INVALID_NETCONF, subent.code(), subent.toString());
        assertTrue(subent.msg().startsWith("field 'ipam.subent' (did you mean 'subnet'?) is not known"), subent.msg());
        var view = host.call(
                "ADD",
                "c1",
                "eth0",
                netconf("1.1.0", "net1", "\"subnet\":\"10.20.0.0/24\",\"network-veiw\":\"cni_view\""));
        assertTrue(view.msg().contains("'ipam.network-veiw' (did you mean 'network-view'?)"), view.msg());
        var ranges = host.call(
                "ADD",
                "c1",
                "eth0",
                netconf("1.1.0", "net1", "\"ranges\":[[{\"subnet\":\"10.20.0.0/24\",\"rangeStrat\":\"10.20.0.9\"}]]"));
        assertTrue(ranges.msg().startsWith("field 'ipam.ranges[0][0].rangeStrat' is not known"), ranges.msg());
        var far = host.call(
                "ADD", "c1", "eth0", netconf("1.1.0", "net1", "\"subnet\":\"10.20.0.0/24\",\"colour\":\"blue\""));
        assertTrue(
                far.msg().startsWith("field 'ipam.colour' is not known"),
                "no guess when nothing is close: " + far.msg());
        assertEquals(before, grid.totalRequests(), "refused before the grid heard of it");
    }

    @Test
    void aDelAndAStatusAreNeverRefusedForAnUnknownField() {
        String typo = netconf("1.1.0", "net1", "\"subnet\":\"10.20.0.0/24\",\"subent\":\"x\"");
        assertTrue(host.call("DEL", "c1", "eth0", typo).ok());
        assertTrue(host.call("STATUS", null, null, typo).ok());
    }

    @Test
    void hostLocalsOwnFieldsAreAcceptedSoItsNetconfMovesOver() {
        var a = host.call(
                "ADD",
                "c1",
                "eth0",
                netconf(
                        "1.1.0",
                        "net1",
                        "\"subnet\":\"10.20.0.0/24\",\"rangeStart\":\"10.20.0.10\",\"rangeEnd\":\"10.20.0.50\","
                                + "\"dataDir\":\"/var/lib/cni/networks\",\"resolvConf\":\"/etc/resolv.conf\""));
        assertTrue(a.ok(), a.toString());
        assertTrue(a.address().startsWith("10.20.0.10/"), "from host-local's range: " + a);
    }

    @Test
    void leniencyLogsTheFieldAndGoesOn() throws Exception {
        host.stop();
        host.start(host.config().toBuilder().lenientNetconf(true).build());
        var a = host.call(
                "ADD", "c1", "eth0", netconf("1.1.0", "net1", "\"subnet\":\"10.20.0.0/24\",\"colour\":\"blue\""));
        assertTrue(a.ok(), a.toString());
    }

    @Test
    void withoutCreateViewsAMissingViewIsRefusedNamingTheField() throws Exception {
        host.stop();
        host.start(host.config().toBuilder().createViews(false).build());
        var a = host.call(
                "ADD",
                "c1",
                "eth0",
                netconf("1.1.0", "net1", "\"subnet\":\"10.20.0.0/24\",\"network-view\":\"cni_veiw\""));
        assertEquals(CniError.INVALID_NETCONF, a.code(), a.toString());
        assertTrue(a.msg().contains("field 'ipam.network-view': the grid has no network view 'cni_veiw'"), a.msg());
        assertTrue(grid.objects("networkview").stream().noneMatch(v -> "cni_veiw".equals(v.get("name"))));
        assertTrue(
                host.call("ADD", "c2", "eth0", netconf("1.1.0", "net1", "\"subnet\":\"10.20.0.0/24\""))
                        .ok(),
                "the default view exists");
    }
}
