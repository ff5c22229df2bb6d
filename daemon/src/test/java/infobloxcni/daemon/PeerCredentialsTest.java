package infobloxcni.daemon;

import static infobloxcni.daemon.TestHost.netconf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import infobloxcni.daemon.config.DaemonConfig;
import infobloxcni.daemon.config.SharedFlags;
import infobloxcni.daemon.server.EnvelopeHandler;
import infobloxcni.wapisim.WapiSimulator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * With the socket opened to a group ({@code --socket-group g --socket-mode rw-rw----}), a member
 * may make CNI requests but never the admin requests of infoblox-cni-recover: those used to let
 * any member dump the journal, or run {@code audit} with {@code apply} and an empty live list and
 * so release every reservation of the host. The peer is a second uid the test creates.
 */
class PeerCredentialsTest {
    private static final String GOOD = netconf("1.0.0", "net1", "\"subnet\":\"10.10.0.0/24\"");

    @TempDir
    Path dir;

    @Test
    void aGroupMemberMayAddButNeverAdminister() throws Exception {
        Files.setPosixFilePermissions(
                dir, PosixFilePermissions.fromString("rwxr-xr-x")); // the member can reach the socket
        try (WapiSimulator grid = TestHost.startGrid();
                SecondUser member = SecondUser.create()) {
            TestHost host = startOpenTo(grid, member);
            try {
                assertTrue(host.call("ADD", "root-c1", "eth0", GOOD).ok(), "root's container");
                assertEquals(1, reservations(grid, "root-c1"));

                var dump = asMember(member, host, "{}", "INFOBLOX_CNI_ADMIN=journal");
                assertTrue(dump.stdout().startsWith("exit=2"), "a group member dumped the journal: " + dump);
                assertTrue(dump.stdout().contains("root only"), dump.stdout());
                assertFalse(dump.stdout().contains("root-c1"), dump.stdout());

                var wipe = asMember(
                        member, host, "{\"apply\":true,\"liveSource\":\"-\",\"live\":[]}", "INFOBLOX_CNI_ADMIN=audit");
                assertTrue(wipe.stdout().startsWith("exit=2"), "a group member ran audit --apply: " + wipe);
                assertEquals(1, reservations(grid, "root-c1"), "root's container keeps its address");

                var add = asMember(
                        member,
                        host,
                        GOOD,
                        "CNI_COMMAND=ADD",
                        "CNI_CONTAINERID=member-c1",
                        "CNI_IFNAME=eth0",
                        "CNI_NETNS=/proc/self/ns/net"); // the daemon's own: a namespace, whoever names it
                assertTrue(
                        add.stdout().startsWith("exit=0"), "CNI requests from the socket's group are served: " + add);
                assertEquals(1, reservations(grid, "member-c1"));

                assertTrue(
                        host.send(java.util.Map.of(EnvelopeHandler.ADMIN_ENV, "journal"), "{}")
                                .ok(),
                        "root still may");
            } finally {
                host.stop();
            }
        }
    }

    /**
     * What a member names as CNI_NETNS is looked at by root, through directories the member may not
     * enter: the answer used to tell what was there ({@code /root/.bashrc}: "a regular file, not a
     * network namespace"; {@code /root/nonexistent}: success). A member now hears one refusal for
     * anything that is not a network namespace; root still hears why.
     */
    @Test
    void aGroupMemberLearnsNothingOfPathsItCannotSeeFromCniNetns() throws Exception {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path secret = Files.createDirectory(dir.resolve("secret"));
        Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rwx------"));
        Files.writeString(secret.resolve(".bashrc"), "root's");
        Files.createDirectory(secret.resolve("sub"));
        try (WapiSimulator grid = TestHost.startGrid();
                SecondUser member = SecondUser.create()) {
            TestHost host = startOpenTo(grid, member);
            try {
                java.util.Set<String> answers = new java.util.TreeSet<>();
                for (String name : new String[] {".bashrc", "nonexistent", "sub", "sub/nonexistent/x"}) {
                    String netns = secret.resolve(name).toString();
                    var add = asMember(
                            member,
                            host,
                            GOOD,
                            "CNI_COMMAND=ADD",
                            "CNI_CONTAINERID=probe",
                            "CNI_IFNAME=eth0",
                            "CNI_NETNS=" + netns);
                    answers.add(add.stdout().replace(netns, "<path>"));
                }
                assertEquals(1, answers.size(), "the answers tell the paths apart: " + answers);
                String only = answers.iterator().next();
                assertTrue(
                        only.startsWith("exit=1") && only.contains("\"code\":4") && only.contains("CNI_NETNS"), only);
                assertTrue(grid.objects("fixedaddress").isEmpty(), "nothing reserved for a refused request");

                var root = host.send(
                        java.util.Map.of(
                                "CNI_COMMAND",
                                "ADD",
                                "CNI_CONTAINERID",
                                "probe",
                                "CNI_IFNAME",
                                "eth0",
                                "CNI_NETNS",
                                secret.resolve(".bashrc").toString()),
                        GOOD);
                assertTrue(root.msg().contains("a regular file"), "root hears why: " + root);
            } finally {
                host.stop();
            }
        }
    }

    /**
     * A user the socket's mode keeps out used to hear "Permission denied; is infoblox-cni-daemon
     * running?" with code 11 ("try again", "start the daemon"): now 105, a permission problem,
     * with the socket's mode and owner and what opens it. Through the real plugin, as that user.
     */
    @Test
    void aUserTheSocketKeepsOutHearsItIsAPermissionProblem() throws Exception {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        try (WapiSimulator grid = TestHost.startGrid();
                TestHost host = new TestHost(grid, dir, "host-p").start();
                SecondUser stranger = SecondUser.create()) {
            Files.setPosixFilePermissions(host.socket().getParent(), PosixFilePermissions.fromString("rwxr-xr-x"));
            String conf = netconf(
                    "1.0.0",
                    "net1",
                    "\"subnet\":\"10.20.0.0/24\",\"socket-dir\":\""
                            + host.socket().getParent() + "\"");
            String javaBin = ProcessHandle.current().info().command().orElse("java");
            var r = stranger.run(
                    Duration.ofSeconds(60),
                    java.util.Map.of(
                            "CNI_COMMAND", "ADD",
                            "CNI_CONTAINERID", "c1",
                            "CNI_IFNAME", "eth0",
                            "CNI_NETNS", "/var/run/netns/none",
                            "CNI_PATH", "/opt/cni/bin"),
                    conf,
                    javaBin,
                    "-XX:-UsePerfData",
                    "-Xshare:off",
                    "-cp",
                    SecondUser.treeClassPath(),
                    "infobloxcni.plugin.PluginMain");
            assertEquals(1, r.exit(), r.toString());
            var answer = infobloxcni.daemon.cni.NetConf.JSON.readTree(r.stdout());
            assertEquals(
                    infobloxcni.wire.CniError.PEER_NOT_ALLOWED,
                    answer.path("code").asInt(),
                    r.stdout());
            String msg = answer.path("msg").asText();
            assertTrue(msg.contains("permission denied on its socket (mode rw-------, owner root"), msg);
            assertFalse(msg.contains("is infoblox-cni-daemon running"), msg);
            assertTrue(answer.path("details").asText().contains("--socket-group"), r.stdout());
        }
    }

    /** A daemon whose socket is open to {@code member}'s group ({@code --socket-group}, rw-rw----). */
    private TestHost startOpenTo(WapiSimulator grid, SecondUser member) throws java.io.IOException {
        TestHost host = new TestHost(grid, dir, "host-p");
        DaemonConfig base = host.config();
        return host.start(base.toBuilder()
                .socketPermissions(PosixFilePermissions.fromString("rw-rw----"))
                .socketGroup(member.name)
                .socketLimits(null)
                .build());
    }

    @Test
    void aSocketModeThatLetsEveryUserInIsRefused() {
        var e = assertThrows(IllegalArgumentException.class, () -> {
            SharedFlags options = new SharedFlags();
            new picocli.CommandLine(options)
                    .parseArgs(
                            "--grid-host",
                            "grid.example",
                            "--wapi-username",
                            "u",
                            "--socket-mode",
                            "rw-rw-rw-",
                            "--host-id",
                            "h1");
            options.toConfig("pw");
        });
        assertTrue(
                e.getMessage().contains("--socket-mode") && e.getMessage().contains("every local user"),
                e.getMessage());
    }

    private static long reservations(WapiSimulator grid, String containerId) {
        return grid.objects("fixedaddress").stream()
                .filter(f -> containerId.equals(GridAndDaemonTest.ea(f, "VM ID")))
                .count();
    }

    private static ExternalCommand.Result asMember(SecondUser member, TestHost host, String stdin, String... fields) {
        String[] args = new String[fields.length + 2];
        args[0] = host.socket().toString();
        args[1] = stdin;
        System.arraycopy(fields, 0, args, 2, fields.length);
        var r = member.java(Duration.ofSeconds(60), SecondUser.treeClassPath(), EnvelopeClient.class, args);
        assertTrue(r.ok(), "the member could not even talk to the daemon: " + r);
        return r;
    }
}
