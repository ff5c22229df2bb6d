package infobloxcni.daemon;

import infobloxcni.plugin.Envelope;
import infobloxcni.store.JournalException;
import java.util.function.Function;

/**
 * Turns one plugin request into one answer. Whatever happens inside (bad input, a grid error, a
 * bug), the plugin gets CNI error JSON with a code, and the daemon carries on.
 */
final class RequestHandler implements Function<Envelope.Request, Envelope.Response> {
    private static final System.Logger LOG = System.getLogger(RequestHandler.class.getName());
    private static final int INTERNAL_ERROR = 199;
    private static final byte[] NOTHING = new byte[0];

    private final Ipam ipam;
    private final AdminCommands admin;
    private final DaemonConfig config;

    RequestHandler(Ipam ipam, AdminCommands admin, DaemonConfig config) {
        this.ipam = ipam;
        this.admin = admin;
        this.config = config;
    }

    @Override
    public Envelope.Response apply(Envelope.Request request) {
        if (request.env().containsKey(AdminCommands.ENV)) return admin.handle(request);
        long started = System.nanoTime();
        // as the client sent them, before validation: escaped and cut, they cannot forge a log line
        String command = LogText.bare(request.env().getOrDefault("CNI_COMMAND", "?"));
        String who = LogText.bare(request.env().get("CNI_CONTAINERID")) + "/" + LogText.bare(request.env().get("CNI_IFNAME"));
        CniRequest cni = null;
        try {
            cni = CniRequest.parse(request.env(), request.stdin());
            byte[] out = switch (cni.command()) {
                case ADD -> {
                    cni.netConf().checkEffective(config.prefixLength(), config.networkContainers()); // before any grid write
                    yield ipam.add(cni.withMac(MacAddresses.of(cni))); // the MAC before the ADD locks its attachment
                }
                case DEL -> { ipam.del(cni); yield NOTHING; }
                case CHECK -> { ipam.check(cni); yield NOTHING; }
                case STATUS -> { ipam.status(cni); yield NOTHING; }
                case GC -> { ipam.gc(cni); yield NOTHING; }
                case VERSION -> CniResults.version(NetConf.versionOf(request.stdin()));
            };
            LOG.log(System.Logger.Level.INFO, "{0} {1} ok in {2} ms", command, who, String.valueOf((System.nanoTime() - started) / 1_000_000));
            return new Envelope.Response(0, out);
        } catch (CniError e) {
            LOG.log(System.Logger.Level.WARNING, "{0} {1} failed with code {2}: {3}", command, who, e.code(), e.getMessage());
            return new Envelope.Response(1, CniResults.error(versionOf(cni, request), e));
        } catch (JournalException e) {
            LOG.log(System.Logger.Level.ERROR, command + " " + who + ": journal failure", e);
            return new Envelope.Response(1, CniResults.error(versionOf(cni, request), new CniError(CniError.IO_FAILURE,
                    "local journal unusable, nothing was sent to the grid: " + e.getMessage())));
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, command + " " + who + ": internal error", e);
            return new Envelope.Response(1, CniResults.error(versionOf(cni, request),
                    new CniError(INTERNAL_ERROR, "internal error in infoblox-cni-daemon: " + e)));
        }
    }

    /** Errors answer in the config's cniVersion; the config is parsed a second time only when it failed the first. */
    private static String versionOf(CniRequest parsed, Envelope.Request request) {
        return parsed != null && parsed.netConf() != null ? parsed.netConf().cniVersion() : NetConf.versionOf(request.stdin());
    }

    /** The answer to a client turned away because the daemon is at a limit: try again (code 11). */
    static Envelope.Response busy(String why) {
        return new Envelope.Response(1, CniResults.error(CniVersion.LATEST,
                new CniError(CniError.TRY_AGAIN_LATER, "infoblox-cni-daemon is busy: " + why + "; try again")));
    }

    /** The answer to a request over the daemon's size limit (code 6, as the plugin's own for stdin over 4 MiB). */
    static Envelope.Response tooLarge(String why) {
        return new Envelope.Response(1, CniResults.error(CniVersion.LATEST, new CniError(CniError.DECODE_FAILURE, "request refused: " + why,
                "the network configuration on stdin (with its prevResult or cni.dev/valid-attachments) is what makes a request large")));
    }

    static Envelope.Response malformedEnvelope(Exception e) {
        return new Envelope.Response(1, CniResults.error(CniVersion.LATEST,
                new CniError(CniError.DECODE_FAILURE, "malformed request from plugin: " + e.getMessage())));
    }
}
