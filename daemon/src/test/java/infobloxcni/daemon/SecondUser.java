package infobloxcni.daemon;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A throw-away system user (useradd; userdel on close) for tests that need a second, unprivileged
 * uid on this host: a peer that is not root, an attacker who got to a shared directory first.
 * Needs root and the shadow tools; a test without them is skipped, not failed.
 */
final class SecondUser implements AutoCloseable {
    final String name;
    final int uid;
    final int gid;

    private SecondUser(String name, int uid, int gid) {
        this.name = name;
        this.uid = uid;
        this.gid = gid;
    }

    static SecondUser create() {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root (useradd)");
        assumeTrue(
                new File("/usr/sbin/useradd").canExecute() && new File("/usr/bin/setpriv").canExecute(),
                "needs useradd and setpriv");
        String name = "ibcni" + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 30), 36);
        var made = ExternalCommand.run(
                Duration.ofSeconds(30),
                "useradd",
                "--system",
                "--no-create-home",
                "--user-group",
                "--shell",
                "/usr/sbin/nologin",
                name);
        if (!made.ok()) throw new AssertionError("useradd failed: " + made);
        return new SecondUser(name, id("-u", name), id("-g", name));
    }

    private static int id(String what, String name) {
        var r = ExternalCommand.run(Duration.ofSeconds(10), "id", what, name);
        if (!r.ok()) throw new AssertionError(r.toString());
        return Integer.parseInt(r.stdout().trim());
    }

    /** {@code argv} as this user and group only (no supplementary groups), with {@code env} added. */
    ExternalCommand.Result run(Duration timeout, Map<String, String> env, String stdin, String... argv) {
        List<String> command =
                new ArrayList<>(List.of("setpriv", "--reuid=" + uid, "--regid=" + gid, "--clear-groups", "--"));
        command.addAll(List.of(argv));
        return ExternalCommand.run(timeout, env, stdin, command.toArray(String[]::new));
    }

    /** A Java main of the test class path, run as this user (the class path must be readable by it). */
    ExternalCommand.Result java(Duration timeout, String classPath, Class<?> main, String... args) {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> argv =
                new ArrayList<>(List.of(java, "-XX:-UsePerfData", "-Xshare:off", "-cp", classPath, main.getName()));
        argv.addAll(List.of(args));
        return run(timeout, Map.of(), null, argv.toArray(String[]::new));
    }

    /**
     * The entries of this JVM's class path inside this source tree (the modules' classes and jars),
     * which another user can read; the local Maven repository may not be readable to it.
     */
    static String treeClassPath() {
        String root = Path.of(System.getProperty("user.dir"))
                        .toAbsolutePath()
                        .getParent()
                        .toString()
                + File.separator;
        List<String> out = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            if (Path.of(entry).toAbsolutePath().toString().startsWith(root)) out.add(entry);
        }
        return String.join(File.pathSeparator, out);
    }

    @Override
    public void close() {
        var r = ExternalCommand.run(Duration.ofSeconds(30), "userdel", name);
        if (!r.ok()) System.err.println("userdel " + name + " failed: " + r);
    }
}
