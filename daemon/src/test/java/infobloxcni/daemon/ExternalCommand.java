package infobloxcni.daemon;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs one external command (ip, the CNI bridge plugin, bin/infoblox...) with a hard time limit,
 * feeding it stdin and capturing stdout and stderr separately, for {@link BridgeEndToEndTest}.
 * A command that overruns its limit is killed with its descendants and reported as exit -1.
 */
final class ExternalCommand {
    private ExternalCommand() {}

    /** What the command did; {@link #toString()} is meant for assertion messages. */
    record Result(
            List<String> argv,
            Map<String, String> env,
            int exit,
            String stdout,
            String stderr,
            long nanos,
            boolean timedOut) {
        boolean ok() {
            return exit == 0;
        }

        double millis() {
            return nanos / 1e6;
        }

        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder();
            env.forEach((k, v) -> sb.append(k).append('=').append(v).append(' '));
            sb.append(String.join(" ", argv))
                    .append("\n  -> ")
                    .append(timedOut ? "TIMED OUT (killed)" : "exit " + exit)
                    .append(String.format(" after %.1f ms", millis()))
                    .append("\n  stdout: ")
                    .append(stdout.isEmpty() ? "(empty)" : stdout.strip())
                    .append("\n  stderr: ")
                    .append(stderr.isEmpty() ? "(empty)" : stderr.strip());
            return sb.toString();
        }
    }

    static Result run(Duration timeout, String... argv) {
        return run(timeout, Map.of(), null, argv);
    }

    /**
     * @param env   added to this JVM's environment
     * @param stdin null: an empty stdin
     */
    static Result run(Duration timeout, Map<String, String> env, String stdin, String... argv) {
        ProcessBuilder pb = new ProcessBuilder(argv);
        pb.environment().putAll(env);
        pb.redirectInput(
                stdin == null ? ProcessBuilder.Redirect.from(new File("/dev/null")) : ProcessBuilder.Redirect.PIPE);
        long start = System.nanoTime();
        Process process;
        try {
            process = pb.start();
        } catch (IOException e) {
            return new Result(
                    List.of(argv),
                    new LinkedHashMap<>(env),
                    127,
                    "",
                    "cannot start: " + e.getMessage(),
                    System.nanoTime() - start,
                    false);
        }
        CompletableFuture<String> out = drain(process.getInputStream());
        CompletableFuture<String> err = drain(process.getErrorStream());
        try {
            if (stdin != null) {
                try (OutputStream in = process.getOutputStream()) {
                    in.write(stdin.getBytes(StandardCharsets.UTF_8));
                } catch (IOException ignored) {
                    // the command exited without reading all of it: its exit code tells
                }
            }
            boolean finished = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            long nanos = System.nanoTime() - start;
            if (!finished) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
                process.waitFor(5, TimeUnit.SECONDS);
            }
            return new Result(
                    List.of(argv),
                    new LinkedHashMap<>(env),
                    finished ? process.exitValue() : -1,
                    get(out),
                    get(err),
                    nanos,
                    !finished);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
            throw new IllegalStateException("interrupted while running " + Arrays.toString(argv), e);
        }
    }

    private static CompletableFuture<String> drain(InputStream stream) {
        CompletableFuture<String> f = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            try (stream) {
                f.complete(new String(stream.readAllBytes(), StandardCharsets.UTF_8));
            } catch (IOException e) {
                f.complete("(unreadable: " + e.getMessage() + ")");
            }
        });
        return f;
    }

    private static String get(CompletableFuture<String> f) {
        try {
            // a killed command's grandchildren may still hold the pipe: never wait long for it
            return f.get(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "(interrupted)";
        } catch (ExecutionException | TimeoutException e) {
            return "(output not collected: " + e + ")";
        }
    }
}
