package infobloxcni.daemon;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Finds the MAC to record on a reservation. It is informative only (we find reservations by
 * container ID, never by MAC), so any failure here falls back to the all-zero MAC and never
 * fails an ADD.
 */
final class MacAddresses {
    static final String NONE = "00:00:00:00:00:00";
    private static final System.Logger LOG = System.getLogger(MacAddresses.class.getName());
    private static final Pattern ETHER = Pattern.compile("link/ether ([0-9a-f]{2}(?::[0-9a-f]{2}){5})");
    private static final Pattern MAC = Pattern.compile("([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}");

    private MacAddresses() { }

    /** runtimeConfig.mac, else CNI_ARGS MAC=, else the interface inside the netns, else zeros. */
    static String of(CniRequest request) {
        if (request.netConf().runtimeMac() != null) return request.netConf().runtimeMac();
        String fromArgs = request.args().get("MAC");
        if (fromArgs != null && MAC.matcher(fromArgs).matches()) return fromArgs.toLowerCase();
        return request.netns() == null ? NONE : readFromNetns(request.netns(), request.ifName());
    }

    /** Asks {@code ip} inside the container's network namespace; bounded to two seconds. */
    static String readFromNetns(String netns, String ifName) {
        if (!java.nio.file.Files.exists(java.nio.file.Path.of(netns))) return NONE; // gone, or never there: skip the fork
        ProcessBuilder pb = new ProcessBuilder("nsenter", "--net=" + netns, "ip", "-o", "link", "show", "dev", ifName)
                .redirectErrorStream(true);
        Process process = null;
        try {
            process = pb.start();
            process.getOutputStream().close();
            byte[] out = process.getInputStream().readNBytes(4096);
            if (!process.waitFor(2, TimeUnit.SECONDS) || process.exitValue() != 0) {
                LOG.log(System.Logger.Level.DEBUG, "no MAC for {0} in {1}: {2}", ifName, netns, new String(out, StandardCharsets.UTF_8).trim());
                return NONE;
            }
            Matcher m = ETHER.matcher(new String(out, StandardCharsets.UTF_8));
            return m.find() ? m.group(1) : NONE;
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "no MAC for {0} in {1}: {2}", ifName, netns, e.getMessage());
            return NONE;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return NONE;
        } finally {
            if (process != null) process.destroyForcibly();
        }
    }
}
