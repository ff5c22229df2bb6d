package infobloxcni.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** The machine the figures were taken on, for the JSON and for docs/benchmarks.md. */
final class Machine {
    private Machine() {}

    static Map<String, Object> describe(Path java) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cores", Runtime.getRuntime().availableProcessors());
        m.put("cpu", firstValue(Path.of("/proc/cpuinfo"), "model name"));
        String memKb = firstValue(Path.of("/proc/meminfo"), "MemTotal").replaceAll("[^0-9]", "");
        m.put("memoryGiB", Math.round(Long.parseLong(memKb) / 1024.0 / 1024.0));
        m.put("os", firstValue(Path.of("/etc/os-release"), "PRETTY_NAME").replace("\"", ""));
        m.put("kernel", Procs.read(Path.of("/proc/sys/kernel/osrelease")).strip());
        m.put("filesystemOfTmp", filesystemOf(Path.of(System.getProperty("java.io.tmpdir"))));
        m.put("java", javaVersion(java));
        m.put("loadAverageAtStart", Procs.loadAverage());
        return m;
    }

    static String oneLine(Map<String, Object> m) {
        return m.get("cores") + " cores (" + m.get("cpu") + "), " + m.get("memoryGiB") + " GiB, " + m.get("os")
                + ", Linux " + m.get("kernel") + ", " + m.get("java") + "; load " + m.get("loadAverageAtStart");
    }

    /** The first line of {@code java -version} of the java the plugin runs on. */
    private static String javaVersion(Path java) {
        try {
            Process p = new ProcessBuilder(java.toString(), "-version")
                    .redirectErrorStream(true)
                    .start();
            String first = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8)
                    .lines()
                    .findFirst()
                    .orElse("?");
            p.waitFor();
            return first;
        } catch (IOException e) {
            return "cannot run " + java + ": " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "?";
        }
    }

    private static String firstValue(Path file, String key) {
        try {
            for (String line : Files.readAllLines(file)) {
                int sep = line.indexOf(key.equals("PRETTY_NAME") ? '=' : ':');
                if (line.startsWith(key) && sep > 0)
                    return line.substring(sep + 1).trim();
            }
        } catch (IOException e) {
            // not on this machine
        }
        return "?";
    }

    private static String filesystemOf(Path dir) {
        try {
            return Files.getFileStore(dir).type();
        } catch (IOException e) {
            return "?";
        }
    }
}
