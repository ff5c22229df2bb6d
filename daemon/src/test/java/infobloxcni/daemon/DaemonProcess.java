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

    DaemonProcess(Process process, Path log) {
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
        Path log = scratch.resolve("daemon-" + System.nanoTime() + ".log");
        Process process = launch(
                        grid,
                        host.socket().getParent(),
                        host.dir.resolve("state"),
                        host.hostId,
                        host.dir.resolve("cni-cache"))
                .shell(shell)
                .jvm("-XX:-MaxFDLimit", "-Djava.io.tmpdir=" + scratch)
                .jvm(jvm.toArray(String[]::new))
                .flags(extra)
                .start(log);
        return new DaemonProcess(process, log);
    }

    /**
     * JVM options for a daemon restarted hundreds of times (the crash test, Podman's restarts):
     * only start-up speed depends on them.
     */
    static final String[] FAST_START = {"-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto"};

    /**
     * Flags for a daemon that is killed mid-call: a refill whose answer a kill lost is settled
     * after two whole-call timeouts (no write can still be in flight then), 2 x 2 s here instead
     * of 2 x 30 s.
     */
    static final String[] KILLED_MID_CALL = {
        "--wapi-call-timeout", "2s", "--wapi-read-timeout", "2s", "--log-level", "INFO"
    };

    /** The daemon's command line for a test host: its grid, socket and state directories, host ID and CNI cache. */
    static Launch launch(WapiSimulator grid, Path socketDir, Path stateDir, String hostId, Path cniCache) {
        return new Launch(grid, socketDir, stateDir, hostId, cniCache);
    }

    /**
     * The one way the tests start DaemonMain as a process: this JVM's java and (unless told
     * otherwise) class path, the flags that point it at a simulator (the password in the
     * environment, as a host gives it), stdin from /dev/null, stdout and stderr to one log file.
     */
    static final class Launch {
        private final List<String> hostFlags;
        private String shell = "";
        private final List<String> jvm = new ArrayList<>();
        private final List<String> flags = new ArrayList<>();
        private String classPath = System.getProperty("java.class.path");
        private final java.util.Map<String, String> env = new java.util.HashMap<>();

        private Launch(WapiSimulator grid, Path socketDir, Path stateDir, String hostId, Path cniCache) {
            hostFlags = new ArrayList<>(TestHost.gridFlags(grid, socketDir, stateDir, hostId));
            hostFlags.addAll(List.of("--cni-cache-dir", cniCache.toString()));
        }

        /** Run before the JVM by {@code sh -c} (e.g. {@code umask 000}, {@code ulimit -n 256}). */
        Launch shell(String commands) {
            shell = commands;
            return this;
        }

        Launch jvm(String... options) {
            jvm.addAll(List.of(options));
            return this;
        }

        /** Daemon flags after the host's. */
        Launch flags(String... more) {
            flags.addAll(List.of(more));
            return this;
        }

        Launch classPath(String path) {
            classPath = path;
            return this;
        }

        /** An environment variable for the daemon, beside the password. */
        Launch env(String name, String value) {
            env.put(name, value);
            return this;
        }

        Process start(Path log) throws IOException {
            String java =
                    ProcessHandle.current().info().command().orElse(System.getProperty("java.home") + "/bin/java");
            // Signals as systemd gives them to a service, whatever this JVM was started under: a CI
            // job run with nohup ignores SIGHUP, the child inherits that, and the JVM will not handle
            // a signal that was ignored when it started (the reload test's SIGHUP went nowhere).
            List<String> argv = new ArrayList<>(List.of(
                    "env",
                    "--default-signal=HUP,INT,TERM",
                    "sh",
                    "-c",
                    (shell.isEmpty() ? "" : shell + "; ") + "exec \"$@\"",
                    "sh",
                    java));
            argv.addAll(jvm);
            argv.addAll(List.of("-cp", classPath, DaemonMain.class.getName()));
            argv.addAll(hostFlags);
            argv.addAll(flags);
            ProcessBuilder pb = new ProcessBuilder(argv)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile());
            pb.environment().put("WAPI_PASSWORD", TestHost.PASSWORD);
            pb.environment().putAll(env);
            return pb.start();
        }
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
