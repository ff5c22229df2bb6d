package infobloxcni.wapi;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;
import javax.net.ssl.SSLException;

/**
 * What a failed call means: the {@link WapiException} of the right kind, with the grid's own
 * code and text when it answered, and whether the call may be sent again at once
 * ({@link Attempt.Retryable}). The rule every caller relies on is "may have been applied": a read
 * never was, a request that certainly never left this host never was, and a write the grid may
 * have seen (a reset, a timeout, any 5xx after it was sent) may have been, whatever the status
 * says. Only a refusal before the work (a 4xx, 408 and 429 included) certainly was not.
 */
final class WapiFailures {
    private static final Pattern NETWORK_FULL = Pattern.compile("Cannot find \\d+ available IP address");

    private final WapiJson json;

    WapiFailures(WapiJson json) {
        this.json = json;
    }

    /**
     * A non-2xx answer; {@code body} is its text. A read the grid failed to answer may be repeated
     * like one whose connection broke.
     */
    Attempt refused(String method, String what, int status, String body) {
        WapiException refused = failure(method, what, status, body);
        if (method.equals("GET") && refused instanceof WapiException.Transient t) return new Attempt.Retryable(t);
        return new Attempt.Failed(refused);
    }

    /**
     * A call that got no answer. A GET may be repeated at once; a POST creates, so only if it
     * never left. A PUT or DELETE goes by ref, and a ref names a key: one that did arrive may have
     * freed the key for someone else, so whoever repeats those must look first. Nothing is
     * repeated after a timeout: a grid that did not answer in time would keep the retry waiting too.
     */
    static Attempt unreachable(String method, String what, IOException e, boolean sent) {
        WapiException.Transient failure = ioFailure(method, what, e, sent);
        boolean idempotent = !method.equals("POST");
        boolean safeToRepeat = (idempotent || !failure.mayHaveBeenApplied()) && !(e instanceof InterruptedIOException);
        return safeToRepeat ? new Attempt.Retryable(failure) : new Attempt.Failed(failure);
    }

    /** The caller's {@link Deadline} left no time: never sent, so certainly not applied. */
    static WapiException.Transient notSent(String what) {
        return new WapiException.Transient(
                what + ": not sent: the request's time for the grid ran out", 0, null, null, false, null);
    }

    /** Its turn among the calls in flight did not come within its time: never sent, so certainly not applied. */
    static WapiException.Transient notSentBusy(String what, int maxCalls) {
        return new WapiException.Transient(
                what + ": not sent: " + maxCalls + " WAPI calls of this daemon were in flight (--wapi-max-calls) for"
                        + " all of the request's time",
                0,
                null,
                null,
                false,
                null);
    }

    /** A 2xx whose body is not what WAPI answers: a write that got one was applied, a read changed nothing. */
    static WapiException.Transient malformed(String method, String what, String detail) {
        return new WapiException.Transient(
                method + " " + what + ": malformed answer from grid: " + detail,
                200,
                null,
                null,
                !method.equals("GET"),
                null);
    }

    /** A 2xx whose body does not parse (or parses beyond {@link WapiJson}'s bounds). */
    static WapiException.Transient unreadable(String method, String what, IOException e, byte[] answer) {
        String start = new String(answer, 0, Math.min(answer.length, 300), StandardCharsets.UTF_8);
        String why = e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
        return malformed(method, what, "unreadable JSON body (" + why + "): " + abbreviate(start));
    }

    /** What stands for an answer not read because it is larger than the client reads. */
    static String tooLarge(int maxAnswerBytes) {
        return "an answer larger than " + maxAnswerBytes
                + " bytes, the most the daemon reads (--wapi-max-answer-bytes); not read";
    }

    static String abbreviate(String s) {
        return s.length() <= 300 ? s : s.substring(0, 300) + "...";
    }

    /**
     * Whether the grid was reached and its certificate refused: not trusted (a certificate or
     * path validation failure under the handshake) or not the grid's name (okhttp's hostname
     * check). A handshake cut short by a reset or a closed connection is an outage, not this.
     */
    static boolean isTlsRefusal(IOException e) {
        if (e instanceof javax.net.ssl.SSLPeerUnverifiedException) return true;
        if (!(e instanceof SSLException)) return false;
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof java.security.cert.CertificateException
                    || t instanceof java.security.cert.CertPathValidatorException
                    || t instanceof java.security.cert.CertPathBuilderException) return true;
        }
        return false;
    }

    /** What an operator reads for a refused certificate, and where to look. */
    static String tlsRefusal(IOException e) {
        return "the grid's TLS certificate was refused (" + e.getMessage()
                + "); give its CA with --ssl-verify=<file>, or check that --grid-host is the name it carries";
    }

    private static WapiException.Transient ioFailure(String method, String what, IOException e, boolean sent) {
        boolean neverSent = !sent
                || e instanceof ConnectException
                || e instanceof UnknownHostException
                || e instanceof NoRouteToHostException
                || e instanceof SSLException;
        boolean mayHaveBeenApplied = !method.equals("GET") && !neverSent;
        String reason = isTlsRefusal(e)
                ? tlsRefusal(e)
                : e instanceof SSLException
                        ? "TLS handshake failed (is the grid's certificate trusted? see --ssl-verify): "
                                + e.getMessage()
                        : e instanceof InterruptedIOException
                                ? "no answer in time (" + e.getMessage() + ")"
                                : e.getClass().getSimpleName() + ": " + e.getMessage();
        String suffix = mayHaveBeenApplied ? "; the request may have been applied" : "";
        return new WapiException.Transient(
                what + ": grid unreachable: " + reason + suffix, 0, null, null, mayHaveBeenApplied, e);
    }

    private WapiException failure(String method, String what, int status, String body) {
        String code = null;
        String text = null;
        try {
            JsonNode error = json.read(body);
            if (error != null && error.isObject()) {
                code = error.path("code").isMissingNode()
                        ? null
                        : error.path("code").asText();
                text = error.path("text").isMissingNode()
                        ? null
                        : error.path("text").asText();
                if (text == null && error.hasNonNull("Error"))
                    text = error.get("Error").asText();
            }
        } catch (IOException ignored) {
            // not JSON: keep the raw body below
        }
        if (text == null) text = abbreviate(body.isBlank() ? "HTTP " + status : body);
        String message = what + ": " + text;
        if (status == 401)
            return new WapiException.AuthenticationFailed(
                    what + ": authentication failed (check --wapi-username and the password)", status, code, text);
        if (status == 404 || (code != null && code.contains("NotFound")))
            return new WapiException.NotFound(message, status, code, text);
        if (NETWORK_FULL.matcher(text).find()) return new WapiException.NetworkFull(message, status, code, text);
        if (code != null && code.contains("Conflict")) return new WapiException.Conflict(message, status, code, text);
        if (status >= 500) {
            // The grid (or the balancer or proxy in front of it) answered but failed. A 502, 503 or
            // 504 may come after the grid committed the write: from a balancer whose upstream
            // answered too late, or from a grid under load. So a write may or may not have been
            // applied, whatever the status says: the caller looks before it writes again.
            return new WapiException.Transient(message, status, code, text, !method.equals("GET"), null);
        }
        if (status == 408 || status == 429) {
            // A 4xx is a refusal before the work: "try later", nothing applied.
            return new WapiException.Transient(message, status, code, text, false, null);
        }
        return new WapiException.Rejected(message, status, code, text);
    }
}
