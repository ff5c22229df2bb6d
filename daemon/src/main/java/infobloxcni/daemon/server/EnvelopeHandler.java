package infobloxcni.daemon.server;

import infobloxcni.wire.Envelope;

/**
 * What {@link SocketServer} hands each request to, and asks for the answers it gives when it
 * stops reading one: the socket knows envelopes, the handler knows what to answer in them.
 * Every answer is one the plugin prints as it is (CNI result or error JSON); none of these
 * methods throws.
 */
public interface EnvelopeHandler {
    /**
     * The variable that makes a request an admin command (status, journal, audit) rather than a
     * CNI verb: the socket's peer policy and limits treat those apart.
     */
    String ADMIN_ENV = "INFOBLOX_CNI_ADMIN";

    /** The answer to one complete request from {@code peer} (whom the socket's policy let ask it). */
    Envelope.Response handle(Envelope.Request request, PeerPolicy.Peer peer);

    /** The answer to bytes that are not a valid envelope ({@link Envelope.MalformedEnvelopeException}). */
    Envelope.Response malformed(Exception e);

    /** The answer to a client turned away because the daemon is at a limit. */
    Envelope.Response busy(String why);

    /** The answer to a request over the daemon's size limit. */
    Envelope.Response tooLarge(String why);
}
