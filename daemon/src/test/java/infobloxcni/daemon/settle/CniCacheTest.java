package infobloxcni.daemon.settle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import infobloxcni.daemon.settle.JournalRebuilder.CachedAttachment;
import infobloxcni.store.AttachmentKey;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reading the runtime's CNI result cache ({@link JournalRebuilder#readCniCache}), alone. libcni
 * caches the config it ran: a single network config ({@code AddNetwork}, as cnitool does) or the
 * whole network list ({@code AddNetworkList}, as Podman, containerd, CRI-O and the kubelet do), where
 * the ipam section sits in one of the plugins. Whose attachment it is (the ipam type) must be read
 * from both, or a rebuild would not know the runtime's containers as this driver's.
 */
class CniCacheTest {
    @TempDir
    Path dir;

    /** A cache entry exactly as Podman 4.3 (CNI backend, libcni 1.1.2) wrote it, but for the network's config. */
    private void podmanEntry(String file, String network, String containerId, String config) throws Exception {
        Files.writeString(
                dir.resolve(file),
                "{\"kind\":\"cniCacheV1\",\"containerId\":\"" + containerId + "\",\"config\":\""
                        + Base64.getEncoder().encodeToString(config.getBytes(StandardCharsets.UTF_8))
                        + "\",\"ifName\":\"eth0\",\"networkName\":\""
                        + network
                        + "\",\"cniArgs\":[[\"IgnoreUnknown\",\"1\"],[\"K8S_POD_NAME\",\"x\"]],\"capabilityArgs\":{\"aliases\":{\""
                        + network
                        + "\":[\"ed90a8d1da05\"]}},\"result\":{\"cniVersion\":\"1.0.0\",\"dns\":{},\"interfaces\":[{\"mac\":"
                        + "\"66:c8:d8:2d:db:ec\",\"name\":\"pe2br0\"},{\"mac\":\"b2:6f:86:6d:97:b2\",\"name\":\"veth3cd8deb7\"},{\"mac\":"
                        + "\"2a:23:a5:51:17:27\",\"name\":\"eth0\",\"sandbox\":\"/run/netns/netns-da10d53f-f663-a66b-8ad6-87f62ecea682\"}],"
                        + "\"ips\":[{\"address\":\"10.98.0.2/24\",\"gateway\":\"10.98.0.1\",\"interface\":2}]}}");
    }

    private CachedAttachment only() {
        List<CachedAttachment> all = JournalRebuilder.readCniCache(dir);
        assertEquals(1, all.size(), all::toString);
        return all.getFirst();
    }

    @Test
    void aNetworkListEntryAsPodmanWritesItIsOurs() throws Exception {
        String id = "ed90a8d1da05928ffd0ab0bd776c50406f6c562f03c19e8fc0d30edd2bf208ea";
        podmanEntry(
                "pe2-net-" + id + "-eth0",
                "pe2-net",
                id,
                "{\"cniVersion\":\"1.0.0\",\"name\":\"pe2-net\",\"plugins\":[{\"type\":"
                        + "\"bridge\",\"bridge\":\"pe2br0\",\"isGateway\":true,\"ipMasq\":false,\"ipam\":{\"type\":\"infoblox\",\"subnet\":"
                        + "\"10.98.0.0/24\",\"socket-dir\":\"/tmp/x\"}},{\"type\":\"portmap\",\"capabilities\":{\"portMappings\":true}}]}\n");
        CachedAttachment c = only();
        assertEquals(
                new AttachmentKey("pe2-net", id, "eth0"),
                c.key(),
                "from the entry's fields, not its file name (the network has a dash)");
        assertEquals("10.98.0.2", c.address());
        assertEquals("10.98.0.1", c.gateway());
        assertEquals("infoblox", c.ipamType(), "the ipam type of the list's plugin that has one");
        assertEquals(
                "2a:23:a5:51:17:27",
                c.mac(),
                "the container's eth0 (the one with a sandbox), not the bridge's or the veth's");
        assertEquals("x", c.podName(), "K8S_POD_NAME of the cached CNI_ARGS");
    }

    @Test
    void aResultWithoutInterfacesAndArgsWithoutAPodNameSayNothing() throws Exception {
        Files.writeString(
                dir.resolve("n-c1-eth0"),
                "{\"kind\":\"cniCacheV1\",\"containerId\":\"c1\",\"ifName\":\"eth0\","
                        + "\"networkName\":\"n\",\"cniArgs\":[[\"IgnoreUnknown\",\"1\"]],\"result\":{\"cniVersion\":\"0.2.0\","
                        + "\"ip4\":{\"ip\":\"10.98.0.7/24\",\"gateway\":\"10.98.0.1\"}}}");
        CachedAttachment c = only();
        assertEquals("10.98.0.7", c.address());
        assertNull(c.mac());
        assertNull(c.podName());
        assertNull(c.ipamType(), "no config cached");
    }

    @Test
    void theIpamSectionMayBeInAPluginOtherThanTheFirst() throws Exception {
        podmanEntry(
                "n-c1-eth0",
                "n",
                "c1",
                "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"plugins\":[{\"type\":\"tuning\"},"
                        + "{\"type\":\"macvlan\",\"master\":\"eth0\",\"ipam\":{\"type\":\"infoblox\"}}]}");
        assertEquals("infoblox", only().ipamType());
    }

    @Test
    void aNetworkListOfAnotherIpamIsNotOurs() throws Exception {
        podmanEntry(
                "n-c1-eth0",
                "n",
                "c1",
                "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"plugins\":[{\"type\":\"bridge\",\"ipam\":"
                        + "{\"type\":\"host-local\",\"subnet\":\"10.98.0.0/24\"}}]}");
        assertEquals("host-local", only().ipamType());
    }

    @Test
    void aSingleNetworkConfigEntryIsReadAsBefore() throws Exception {
        podmanEntry(
                "n-c1-eth0",
                "n",
                "c1",
                "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"bridge\",\"ipam\":{\"type\":\"infoblox\"}}");
        assertEquals("infoblox", only().ipamType());
    }

    @Test
    void anUnreadableConfigHasNoIpamType() throws Exception {
        podmanEntry("n-c1-eth0", "n", "c1", "not json");
        assertNull(only().ipamType());
        Files.delete(dir.resolve("n-c1-eth0"));
        podmanEntry(
                "n-c1-eth0",
                "n",
                "c1",
                "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"plugins\":[{\"type\":\"bridge\"}]}");
        assertNull(only().ipamType(), "a list without an ipam section");
    }
}
