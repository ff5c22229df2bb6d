package infobloxcni.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the kernel says about processes, from /proc. CPU of the programs under test is read as the
 * growth of this JVM's {@code cutime + cstime}: the kernel adds there the exact user and system time
 * of every child (and of what the child waited for) once it is reaped, so a batch of plugin calls
 * costs what its processes cost, without sampling. The reading is in clock ticks (10 ms), so CPU is
 * only ever taken over batches of calls, never one call.
 */
final class Procs {
    /** USER_HZ: fixed at 100 on every Linux architecture the JDK runs on. */
    private static final long NANOS_PER_TICK = 10_000_000L;

    private Procs() {}

    /** User + system time of this JVM's reaped children, in nanoseconds. */
    static long childrenCpuNanos() {
        String[] f = statFields("self");
        return (Long.parseLong(f[13]) + Long.parseLong(f[14])) * NANOS_PER_TICK;
    }

    /** User + system time of a running process, in nanoseconds. */
    static long cpuNanos(long pid) {
        String[] f = statFields(Long.toString(pid));
        return (Long.parseLong(f[11]) + Long.parseLong(f[12])) * NANOS_PER_TICK;
    }

    /**
     * User + system time of each live thread of a process, in nanoseconds, summed by thread name
     * with digits replaced by '#' but C1 and C2 kept ("C2 CompilerThre", "ForkJoinPool-#-": the
     * kernel keeps 15 characters of a name): where a process's CPU goes (JIT, GC, request
     * threads). Threads that exited are not seen.
     */
    static Map<String, Long> cpuNanosByThread(long pid) {
        Map<String, Long> out = new TreeMap<>();
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc", Long.toString(pid), "task"))) {
            for (Path task : tasks) {
                String stat;
                try {
                    stat = Files.readString(task.resolve("stat"));
                } catch (IOException gone) {
                    continue; // the thread ended meanwhile
                }
                String name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
                        .replaceAll("(?<!^C)\\d+", "#");
                String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
                out.merge(name, (Long.parseLong(f[11]) + Long.parseLong(f[12])) * NANOS_PER_TICK, Long::sum);
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot list the threads of " + pid + ": " + e.getMessage(), e);
        }
        return out;
    }

    /** The fields of /proc/<pid>/stat after the command name (whose parentheses may hold spaces): [0] is field 3. */
    private static String[] statFields(String pid) {
        String stat = read(Path.of("/proc", pid, "stat"));
        return stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
    }

    /** Resident memory now and at its peak (VmRSS, VmHWM), and of the RSS: anonymous (heap, metaspace, code, stacks) and file-backed (jars, the AOT cache, libjvm). */
    record Memory(double rssMiB, double peakMiB, double anonMiB, double fileMiB) {}

    static Memory memory(long pid) {
        double rss = Double.NaN, hwm = Double.NaN, anon = Double.NaN, file = Double.NaN;
        for (String line : read(Path.of("/proc", Long.toString(pid), "status")).split("\n")) {
            if (line.startsWith("VmRSS:")) rss = kib(line) / 1024.0;
            if (line.startsWith("VmHWM:")) hwm = kib(line) / 1024.0;
            if (line.startsWith("RssAnon:")) anon = kib(line) / 1024.0;
            if (line.startsWith("RssFile:")) file = kib(line) / 1024.0;
        }
        return new Memory(Summary.round(rss, 1), Summary.round(hwm, 1), Summary.round(anon, 1), Summary.round(file, 1));
    }

    /**
     * What a JVM says about itself through {@code jcmd} (beside {@code java}): the command's output,
     * or why there is none. For the record of what the daemon holds, not for any figure.
     */
    static String jcmd(Path java, long pid, String... command) {
        Path jcmd = java.resolveSibling("jcmd");
        List<String> argv = new ArrayList<>(List.of(jcmd.toString(), Long.toString(pid)));
        argv.addAll(List.of(command));
        try {
            Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            return p.waitFor() == 0
                    ? out.strip()
                    : "jcmd " + String.join(" ", command) + " exited " + p.exitValue() + ": " + out.strip();
        } catch (IOException e) {
            return "jcmd " + String.join(" ", command) + " failed: " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "jcmd " + String.join(" ", command) + " interrupted";
        }
    }

    private static long kib(String line) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
    }

    static String loadAverage() {
        String[] f = read(Path.of("/proc/loadavg")).split(" ");
        return f[0] + " " + f[1] + " " + f[2];
    }

    static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }
}
