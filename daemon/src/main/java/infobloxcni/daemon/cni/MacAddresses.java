package infobloxcni.daemon.cni;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Finds the MAC to record on a reservation. It is informative only (we find reservations by
 * container ID, never by MAC), so any failure here falls back to the all-zero MAC and never
 * fails an ADD. It is looked up once per ADD, before the ADD takes its attachment's lock
 * ({@link Ipam#add}), so a slow lookup never holds up another request.
 */
public final class MacAddresses {
    public static final String NONE = "00:00:00:00:00:00";
    /** The whole lookup (nsenter and ip, start to exit, output read) ends within this, or gives zeros. */
    static final Duration DEADLINE = Duration.ofSeconds(5);

    private static final System.Logger LOG = System.getLogger(MacAddresses.class.getName());
    private static final Pattern ETHER = Pattern.compile("link/ether ([0-9a-f]{2}(?::[0-9a-f]{2}){5})");
    private static final Pattern MAC = Pattern.compile("([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}");
    /** Children find their programs here, never through an inherited PATH. */
    public static final String CHILD_PATH = "/usr/sbin:/usr/bin:/sbin:/bin";

    private static final Optional<String> NSENTER = Arrays.stream(CHILD_PATH.split(":"))
            .map(dir -> Path.of(dir, "nsenter"))
            .filter(Files::isExecutable)
            .map(Path::toString)
            .findFirst();

    private MacAddresses() {}

    /** runtimeConfig.mac, else CNI_ARGS MAC=, else the interface inside the netns, else zeros. */
    public static String of(CniRequest request) {
        if (request.netConf().runtimeMac() != null) return request.netConf().runtimeMac();
        String fromArgs = request.args().get("MAC");
        if (fromArgs != null && MAC.matcher(fromArgs).matches()) return fromArgs.toLowerCase();
        return request.netns() == null ? NONE : readFromNetns(request.netns(), request.ifName());
    }

    /**
     * Asks {@code ip} inside the container's network namespace, only when {@link NetnsPath} says
     * it is one; the child gets a clean environment (no password, no inherited PATH) and is killed
     * at {@link #DEADLINE}, whatever it is blocked on.
     */
    public static String readFromNetns(String netns, String ifName) {
        NetnsPath.Verdict verdict = NetnsPath.check(netns);
        if (verdict.kind() != NetnsPath.Kind.NAMESPACE) {
            if (verdict.kind() == NetnsPath.Kind.REFUSED) {
                LOG.log(
                        System.Logger.Level.WARNING,
                        "not entering CNI_NETNS {0}: {1}",
                        LogText.value(netns),
                        verdict.reason());
            }
            return NONE; // gone, or never there: skip the fork
        }
        Process process = null;
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        try {
            process = command(netns, ifName).start();
            process.getOutputStream().close();
            CompletableFuture<byte[]> output = drain(process.getInputStream());
            boolean exited = process.waitFor(DEADLINE.toNanos(), TimeUnit.NANOSECONDS);
            if (!exited) {
                LOG.log(
                        System.Logger.Level.WARNING,
                        "no MAC for {0} in {1}: nsenter/ip did not finish within {2} s",
                        ifName,
                        LogText.value(netns),
                        DEADLINE.toSeconds());
                return NONE;
            }
            // Read before anything destroys the process: destroying it closes its streams (JDK 23+).
            // A grandchild holding the pipe open costs at most the deadline; finally closes it.
            byte[] out = output.get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            String text = new String(out, StandardCharsets.UTF_8);
            if (process.exitValue() != 0) {
                LOG.log(
                        System.Logger.Level.INFO,
                        "no MAC for {0} in {1}: {2}",
                        ifName,
                        LogText.value(netns),
                        text.trim());
                return NONE;
            }
            Matcher m = ETHER.matcher(text);
            return m.find() ? m.group(1) : NONE;
        } catch (IOException | ExecutionException | TimeoutException e) {
            LOG.log(
                    System.Logger.Level.DEBUG,
                    "no MAC for {0} in {1}: {2}",
                    ifName,
                    LogText.value(netns),
                    e.getMessage());
            return NONE;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return NONE;
        } finally {
            if (process != null) process.destroyForcibly();
        }
    }

    /**
     * The child: {@code nsenter --net=<netns> ip -o link show dev <ifName>}, in a clean environment.
     * nsenter is found in {@link #CHILD_PATH} here (the JDK would search the daemon's own PATH),
     * and finds ip there.
     */
    public static ProcessBuilder command(String netns, String ifName) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(
                        NSENTER.orElseThrow(() -> new IOException("nsenter not found in " + CHILD_PATH)),
                        "--net=" + netns,
                        "ip",
                        "-o",
                        "link",
                        "show",
                        "dev",
                        ifName)
                .redirectErrorStream(true);
        pb.environment().clear(); // WAPI_PASSWORD and whatever else the daemon was started with stay here
        pb.environment().put("PATH", CHILD_PATH);
        pb.environment().put("LC_ALL", "C");
        return pb;
    }

    private static CompletableFuture<byte[]> drain(InputStream in) {
        CompletableFuture<byte[]> out = new CompletableFuture<>();
        Thread.ofVirtual().name("mac-lookup-output").start(() -> {
            try (in) {
                out.complete(in.readNBytes(4096));
            } catch (IOException e) {
                out.completeExceptionally(e);
            }
        });
        return out;
    }
}
