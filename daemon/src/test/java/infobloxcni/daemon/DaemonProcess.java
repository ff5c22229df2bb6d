package infobloxcni.daemon;

import infobloxcni.wapisim.WapiSimulator;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The daemon as a process of its own (DaemonMain on this JVM's class path), for tests that need
 * what a process has alone: a umask, a descriptor limit, a small heap, a death. It serves the
 * socket and state of a {@link TestHost}, so {@link TestHost#call} talks to it.
 */
final class DaemonProcess implements AutoCloseable {
    final Process process;
    private final Path log;

    private DaemonProcess(Process process, Path log) {
        this.process = process;
        this.log = log;
    }

    /**
     * @param shell  run before the JVM by {@code sh -c} (e.g. {@code umask 000}, {@code ulimit -n 256}); may be empty
     * @param jvm    JVM options
     * @param extra  daemon flags after the ones that point it at the grid and the host's directories
     */
    static DaemonProcess start(
            WapiSimulator grid, TestHost host, Path scratch, String shell, List<String> jvm, String... extra)
            throws IOException {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> argv = new ArrayList<>(List.of(
                "sh",
                "-c",
                (shell.isEmpty() ? "" : shell + "; ") + "exec \"$@\"",
                "sh",
                java,
                "-XX:-MaxFDLimit",
                "-Djava.io.tmpdir=" + scratch));
        argv.addAll(jvm);
        argv.addAll(List.of("-cp", System.getProperty("java.class.path"), DaemonMain.class.getName()));
        argv.addAll(TestHost.gridFlags(grid, host.socket().getParent(), host.dir.resolve("state"), host.hostId));
        argv.addAll(List.of("--cni-cache-dir", host.dir.resolve("cni-cache").toString()));
        argv.addAll(List.of(extra));
        Path log = scratch.resolve("daemon-" + System.nanoTime() + ".log");
        ProcessBuilder pb = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("WAPI_PASSWORD", TestHost.PASSWORD);
        return new DaemonProcess(pb.start(), log);
    }

    /** Waits (at most a minute) until the daemon answers on the host's socket. */
    DaemonProcess awaitServing(TestHost host) throws Exception {
        for (long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                System.nanoTime() < end && process.isAlive();
                Thread.sleep(50)) {
            if (!Files.exists(host.socket())) continue;
            try {
                if (host.call("VERSION", null, null, "{}").ok()) return this;
            } catch (RuntimeException notYet) {
                // bound, not accepting yet
            }
        }
        throw new AssertionError(
                "the daemon did not serve within 60 s" + (process.isAlive() ? "" : " (it exited)") + ":\n" + log());
    }

    boolean alive() {
        return process.isAlive();
    }

    /**
     * SIGKILL, as a crash: the daemon finishes nothing it was doing (no journal flush, no
     * settlement behind an answer). Waits, at most 20 s, until the process is gone.
     */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        if (!process.waitFor(20, TimeUnit.SECONDS)) throw new AssertionError("the daemon did not die on SIGKILL");
    }

    /** Where the daemon's log (stdout and stderr) goes. */
    Path logFile() {
        return log;
    }

    /** The daemon's log (stderr), cut in the middle past 20,000 characters. */
    String log() throws IOException {
        String text = Files.exists(log) ? Files.readString(log) : "";
        return text.length() > 20_000
                ? text.substring(0, 10_000) + "\n...\n" + text.substring(text.length() - 10_000)
                : text;
    }

    String fullLog() throws IOException {
        return Files.exists(log) ? Files.readString(log) : "";
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(20, TimeUnit.SECONDS)) process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
