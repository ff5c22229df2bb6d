package infobloxcni.bench;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.ProcessBuilder.Redirect;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * One program run as a runtime runs a CNI plugin: a fresh process with only the given environment,
 * stdin from a file, stdout read in full, stderr appended to a file (kept for the end-of-run check:
 * a JVM that cannot use its AOT cache says so there). The time is from just before the spawn to the
 * reaped exit, so it includes the JDK's own spawn cost; the "/bin/true" baseline shows how much.
 */
record Command(List<String> argv, Map<String, String> env, Path stdin, Path stderr) {

    record Result(long nanos, int exit, String stdout) {
        boolean ok() {
            return exit == 0;
        }
    }

    Result run() {
        ProcessBuilder pb = new ProcessBuilder(argv);
        pb.environment().clear();
        pb.environment().putAll(env);
        pb.redirectInput(stdin == null ? Redirect.from(new File("/dev/null")) : Redirect.from(stdin.toFile()));
        pb.redirectError(stderr == null ? Redirect.DISCARD : Redirect.appendTo(stderr.toFile()));
        try {
            long started = System.nanoTime();
            Process p = pb.start();
            byte[] out = p.getInputStream().readAllBytes();
            int exit = p.waitFor();
            return new Result(System.nanoTime() - started, exit, new String(out, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + argv, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted running " + argv, e);
        }
    }
}
