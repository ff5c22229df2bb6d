package infobloxcni.daemon;

import static infobloxcni.wire.CniError.INTERNAL_ERROR;

import infobloxcni.daemon.cni.CniRequest;
import infobloxcni.daemon.cni.CniResults;
import infobloxcni.daemon.cni.LogText;
import infobloxcni.daemon.cni.NetConf;
import infobloxcni.daemon.ipam.Ipam;
import infobloxcni.daemon.observe.Operations;
import infobloxcni.daemon.observe.RequestCalls;
import infobloxcni.daemon.server.EnvelopeHandler;
import infobloxcni.daemon.server.PeerPolicy;
import infobloxcni.store.JournalException;
import infobloxcni.wire.CniError;
import infobloxcni.wire.CniVersion;
import infobloxcni.wire.Envelope;

/**
 * Turns one plugin request into one answer. Whatever happens inside (bad input, a grid error, a
 * bug), the plugin gets CNI error JSON with a code, and the daemon carries on.
 */
final class RequestHandler implements EnvelopeHandler {
    private static final System.Logger LOG = System.getLogger(RequestHandler.class.getName());
    private static final byte[] NOTHING = new byte[0];

    private final Ipam ipam;
    private final AdminCommands admin;
    private final Operations operations;

    RequestHandler(Ipam ipam, AdminCommands admin, Operations operations) {
        this.ipam = ipam;
        this.admin = admin;
        this.operations = operations;
    }

    /**
     * One answered operation, for its log line: verb, network, container and interface (as the
     * client sent them, escaped and cut, so they cannot forge a line), the address, the outcome.
     */
    private record Done(
            Envelope.Response response,
            String verb,
            String network,
            String who,
            String address,
            String outcome,
            String message,
            System.Logger.Level level,
            Throwable failure) {
        static Done ok(Envelope.Response response, Meta m, String address) {
            return new Done(response, m.verb, m.network, m.who, address, "ok", null, System.Logger.Level.INFO, null);
        }

        static Done failed(
                Envelope.Response response, Meta m, CniError e, System.Logger.Level level, Throwable failure) {
            return new Done(
                    response, m.verb, m.network, m.who, null, String.valueOf(e.code()), e.getMessage(), level, failure);
        }
    }

    /** What is known of a request before and while it is parsed. */
    private static final class Meta {
        final String verb;
        final String who;
        String network = "-";

        Meta(Envelope.Request request) {
            verb = LogText.bare(request.env().getOrDefault("CNI_COMMAND", "?"));
            who = LogText.bare(request.env().get("CNI_CONTAINERID")) + "/"
                    + LogText.bare(request.env().get("CNI_IFNAME"));
        }
    }

    @Override
    public Envelope.Response handle(Envelope.Request request, PeerPolicy.Peer peer) {
        if (request.env().containsKey(EnvelopeHandler.ADMIN_ENV)) return admin.handle(request);
        long started = System.nanoTime();
        int[] calls = new int[1];
        Done done = RequestCalls.counting(calls, () -> answer(request, peer.privileged()));
        long nanos = System.nanoTime() - started;
        // One line per operation: verb, network, container/interface, address, outcome, duration, WAPI calls before the
        // answer.
        String line = done.verb() + " " + done.network() + " " + done.who() + " "
                + (done.address() == null ? "-" : done.address())
                + " " + (done.outcome().equals("ok") ? "ok" : "failed with code " + done.outcome()) + " in "
                + nanos / 1_000_000 + " ms, "
                + calls[0] + (calls[0] == 1 ? " WAPI call" : " WAPI calls")
                + (done.message() == null ? "" : ": " + done.message());
        if (done.failure() != null) LOG.log(done.level(), line, done.failure());
        else LOG.log(done.level(), line);
        operations.answered(CniRequest.commandOf(request.env().get("CNI_COMMAND")), done.outcome(), nanos);
        return done.response();
    }

    private Done answer(Envelope.Request request, boolean privileged) {
        Meta meta = new Meta(request);
        CniRequest cni = null;
        try {
            cni = CniRequest.parse(request.env(), request.stdin(), privileged);
            if (cni.netConf() != null && cni.netConf().name() != null)
                meta.network = LogText.bare(cni.netConf().name());
            return switch (cni.command()) {
                case ADD -> {
                    Ipam.Added added = ipam.add(cni);
                    yield Done.ok(new Envelope.Response(0, added.result()), meta, addressOf(added.attachment()));
                }
                case DEL -> Done.ok(new Envelope.Response(0, NOTHING), meta, addressOf(ipam.del(cni)));
                case CHECK -> {
                    ipam.check(cni);
                    yield Done.ok(new Envelope.Response(0, NOTHING), meta, null);
                }
                case STATUS -> {
                    ipam.status(cni);
                    yield Done.ok(new Envelope.Response(0, NOTHING), meta, null);
                }
                case GC -> {
                    ipam.gc(cni);
                    yield Done.ok(new Envelope.Response(0, NOTHING), meta, null);
                }
                case VERSION ->
                    Done.ok(
                            new Envelope.Response(0, CniResults.version(NetConf.versionOf(request.stdin()))),
                            meta,
                            null);
            };
        } catch (CniError e) {
            if (cni == null) { // refused while parsing: the log line still names the network the config gives
                String name = NetConf.nameOf(request.stdin());
                if (name != null) meta.network = LogText.bare(name);
            }
            return Done.failed(errorResponse(cni, request, e), meta, e, System.Logger.Level.WARNING, null);
        } catch (JournalException e) {
            CniError answer = new CniError(
                    CniError.IO_FAILURE, "local journal unusable, nothing was sent to the grid: " + e.getMessage());
            return Done.failed(errorResponse(cni, request, answer), meta, answer, System.Logger.Level.ERROR, e);
        } catch (RuntimeException e) {
            CniError answer = new CniError(INTERNAL_ERROR, "internal error in infoblox-cni-daemon: " + e);
            return Done.failed(errorResponse(cni, request, answer), meta, answer, System.Logger.Level.ERROR, e);
        }
    }

    private static String addressOf(infobloxcni.store.Attachment a) {
        return a == null || a.address() == null ? null : a.address() + "/" + a.prefixLength();
    }

    private static Envelope.Response errorResponse(CniRequest parsed, Envelope.Request request, CniError e) {
        return new Envelope.Response(1, CniResults.error(versionOf(parsed, request), e));
    }

    /** Errors answer in the config's cniVersion; the config is parsed a second time only when it failed the first. */
    private static String versionOf(CniRequest parsed, Envelope.Request request) {
        return parsed != null && parsed.netConf() != null
                ? parsed.netConf().cniVersion()
                : NetConf.versionOf(request.stdin());
    }

    /** The answer to a client turned away because the daemon is at a limit: try again (code 11). */
    @Override
    public Envelope.Response busy(String why) {
        return new Envelope.Response(
                1,
                CniResults.error(
                        CniVersion.LATEST,
                        new CniError(CniError.TRY_AGAIN_LATER, "infoblox-cni-daemon is busy: " + why + "; try again")));
    }

    /** The answer to a request over the daemon's size limit (code 6, as the plugin's own for stdin over 4 MiB). */
    @Override
    public Envelope.Response tooLarge(String why) {
        return new Envelope.Response(
                1,
                CniResults.error(
                        CniVersion.LATEST,
                        new CniError(
                                CniError.DECODE_FAILURE,
                                "request refused: " + why,
                                "the network configuration on stdin (with its prevResult or cni.dev/valid-attachments) is what makes a request large")));
    }

    @Override
    public Envelope.Response malformed(Exception e) {
        return new Envelope.Response(
                1,
                CniResults.error(
                        CniVersion.LATEST,
                        new CniError(CniError.DECODE_FAILURE, "malformed request from plugin: " + e.getMessage())));
    }
}
