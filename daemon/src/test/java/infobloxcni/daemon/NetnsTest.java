package infobloxcni.daemon;

import static infobloxcni.daemon.TestHost.netconf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import infobloxcni.daemon.cni.MacAddresses;
import infobloxcni.daemon.cni.NetnsPath;
import infobloxcni.wire.CniError;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@code CNI_NETNS} names a file the daemon (root) enters with nsenter to read the MAC. Only a
 * network namespace may be entered: a FIFO used to hang the request (and its lock stripe) forever,
 * and any other file was opened by root. A namespace reached through a directory another user
 * owns could be swapped for something else between the check and nsenter's open.
 */
class NetnsTest extends GridAndDaemonTest {
    private static final String GOOD = netconf("1.0.0", "net1", "\"subnet\":\"10.10.0.0/24\"");
    private static final Duration GENEROUS = Duration.ofSeconds(20);
    private String namespace;

    @AfterEach
    void cleanUp() {
        // a request that hung left nsenter blocked in open(2): let it go
        ProcessHandle.current()
                .descendants()
                .filter(p -> p.info().command().orElse("").endsWith("nsenter"))
                .forEach(ProcessHandle::destroyForcibly);
        if (namespace != null) ExternalCommand.run(Duration.ofSeconds(10), "ip", "netns", "del", namespace);
    }

    private static Map<String, String> add(String containerId, String netns, String ifName) {
        Map<String, String> env = new HashMap<>();
        env.put("CNI_COMMAND", "ADD");
        env.put("CNI_CONTAINERID", containerId);
        env.put("CNI_IFNAME", ifName);
        env.put("CNI_NETNS", netns);
        return env;
    }

    @Test
    void aFifoIsRefusedAtOnceAndHoldsNothingUp() throws Exception {
        assumeTrue(new File("/usr/bin/mkfifo").canExecute(), "needs mkfifo");
        Path fifo = dir.resolve("netns-fifo");
        assertTrue(ExternalCommand.run(Duration.ofSeconds(10), "mkfifo", fifo.toString())
                .ok());
        // the same stripe as the next request: a hung ADD held it for good
        var answer = host.send(add("c1", fifo.toString(), "eth0"), GOOD, GENEROUS);
        assertNotNull(answer, "ADD with a FIFO as CNI_NETNS got no answer within " + GENEROUS.toSeconds() + " s");
        assertEquals(CniError.INVALID_ENV, answer.code(), answer.toString());
        assertTrue(answer.msg().contains("CNI_NETNS") && answer.msg().contains("FIFO"), answer.msg());
        assertTrue(grid.objects("fixedaddress").isEmpty(), "nothing reserved for a refused request");
        var next = host.send(add("c1", "/var/run/netns/does-not-exist", "eth0"), GOOD, GENEROUS);
        assertNotNull(next, "the attachment is not left locked");
        assertTrue(next.ok(), next.toString());
    }

    @Test
    void filesThatAreNoNamespaceAreRefusedNamingTheVariable() throws Exception {
        Path plain = Files.writeString(dir.resolve("plain"), "not a namespace");
        for (String netns : List.of(plain.toString(), "/dev/null", dir.toString(), "relative/path")) {
            var answer = host.send(add("c2", netns, "eth0"), GOOD, GENEROUS);
            assertNotNull(answer, netns);
            assertEquals(CniError.INVALID_ENV, answer.code(), netns + ": " + answer);
            assertTrue(answer.msg().contains("CNI_NETNS"), answer.msg());
        }
        assertTrue(grid.objects("fixedaddress").isEmpty());
    }

    @Test
    void aNamespaceReachedThroughAnotherUsersDirectoryIsRefused() throws Exception {
        String mac = newNamespaceWithVeth();
        try (SecondUser other = SecondUser.create()) {
            Path theirs = Files.createDirectory(dir.resolve("theirs"));
            Files.createSymbolicLink(theirs.resolve("ns"), Path.of("/run/netns", namespace));
            ExternalCommand.run(
                    Duration.ofSeconds(10),
                    "chown",
                    "-h",
                    other.uid + ":" + other.gid,
                    theirs.toString(),
                    theirs.resolve("ns").toString());
            var answer = host.send(add("c3", theirs.resolve("ns").toString(), "ceth0"), GOOD, GENEROUS);
            assertNotNull(answer);
            assertEquals(
                    CniError.INVALID_ENV,
                    answer.code(),
                    "the other user could swap " + theirs + " for a FIFO or a device: " + answer + "; reservations "
                            + grid.objects("fixedaddress"));
            assertTrue(answer.msg().contains("belongs to uid " + other.uid), answer.msg());
        }
        assertTrue(reservationsOf("c3").isEmpty(), "mac " + mac);
    }

    @Test
    void realNamespacesStillGiveTheMac() throws Exception {
        String mac = newNamespaceWithVeth();
        var byName = host.send(
                add("c4", "/var/run/netns/" + namespace, "ceth0"), GOOD, GENEROUS); // through the /var/run link
        assertNotNull(byName);
        assertTrue(byName.ok(), byName.toString());
        assertEquals(mac, reservationsOf("c4").getFirst().get("mac"));

        Process inside = new ProcessBuilder("ip", "netns", "exec", namespace, "sleep", "60").start();
        try {
            // ip enters the namespace, then execs sleep: wait until the pid is in there
            Object want = Files.getAttribute(Path.of("/run/netns", namespace), "unix:ino");
            Path ns = Path.of("/proc/" + inside.pid() + "/ns/net");
            for (int i = 0; i < 200 && !want.equals(Files.getAttribute(ns, "unix:ino")); i++) Thread.sleep(25);
            var byPid = host.send(add("c5", "/proc/" + inside.pid() + "/ns/net", "ceth0"), GOOD, GENEROUS);
            assertNotNull(byPid);
            assertTrue(byPid.ok(), byPid.toString());
            assertEquals(
                    mac,
                    reservationsOf("c5").getFirst().get("mac"),
                    () -> "looked at again: " + NetnsPath.check(ns.toString()) + ", MAC "
                            + MacAddresses.readFromNetns(ns.toString(), "ceth0") + "; "
                            + ExternalCommand.run(Duration.ofSeconds(5), "nsenter", "--net=" + ns, "ip", "-o", "link"));
        } finally {
            inside.destroyForcibly();
        }
        var into = host.send(
                add("c6", "/proc/" + ProcessHandle.current().pid() + "/root/etc/hostname", "eth0"), GOOD, GENEROUS);
        assertEquals(CniError.INVALID_ENV, into.code(), "no way into a process's files through /proc: " + into);
    }

    @Test
    void nsenterAndIpGetACleanEnvironment() throws Exception {
        // the daemon's environment holds WAPI_PASSWORD when it is given that way: no child inherits it
        var child = MacAddresses.command("/var/run/netns/x", "eth0");
        assertEquals(Map.of("PATH", MacAddresses.CHILD_PATH, "LC_ALL", "C"), child.environment());
        assertTrue(
                child.command().getFirst().startsWith("/"),
                "nsenter by absolute path, not through the daemon's PATH: " + child.command());
    }

    /** A fresh namespace holding ceth0 (one end of a veth pair) with a known MAC; skipped without root and iproute2. */
    private String newNamespaceWithVeth() {
        assumeTrue(
                "root".equals(System.getProperty("user.name"))
                        && new File("/usr/sbin/ip").canExecute()
                        && new File("/usr/bin/nsenter").canExecute(),
                "needs root, ip and nsenter");
        namespace = "ibcni-" + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 30), 36);
        var made = ExternalCommand.run(Duration.ofSeconds(10), "ip", "netns", "add", namespace);
        assumeTrue(made.ok(), "cannot create a network namespace here: " + made);
        String mac = "02:42:ac:11:00:"
                + String.format("%02x", ThreadLocalRandom.current().nextInt(256));
        var veth = ExternalCommand.run(
                Duration.ofSeconds(10),
                "ip",
                "-n",
                namespace,
                "link",
                "add",
                "ceth0",
                "address",
                mac,
                "type",
                "veth",
                "peer",
                "name",
                "ceth0p");
        assumeTrue(veth.ok(), "no veth interfaces here: " + veth);
        return mac;
    }
}
