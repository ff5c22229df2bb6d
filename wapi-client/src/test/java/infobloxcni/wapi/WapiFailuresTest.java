package infobloxcni.wapi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ConnectException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import org.junit.jupiter.api.Test;

/**
 * The rules the retry and the conditional writes decide on, one failure at a time: which kind of
 * {@link WapiException} it is, whether it may have been applied, and whether it may be sent again
 * at once ({@link Attempt.Retryable}).
 */
class WapiFailuresTest {
    private final WapiFailures failures = new WapiFailures(new WapiJson(WapiConfig.DEFAULT_MAX_ANSWER_BYTES));

    private static String error(String code, String text) {
        return "{\"Error\":\"x\",\"code\":\"" + code + "\",\"text\":\"" + text + "\"}";
    }

    private static WapiException.Transient transientOf(Attempt attempt) {
        return switch (attempt) {
            case Attempt.Retryable(WapiException.Transient t) -> t;
            case Attempt.Failed(WapiException e) -> assertInstanceOf(WapiException.Transient.class, e);
            case Attempt.Answered a -> throw new AssertionError("answered: " + a);
        };
    }

    @Test
    void aReadTheGridFailedIsRetryableAndAWriteItFailedMayHaveBeenApplied() {
        Attempt read = failures.refused("GET", "GET network", 503, error("Server.Busy", "busy"));
        assertInstanceOf(Attempt.Retryable.class, read);
        assertFalse(transientOf(read).mayHaveBeenApplied());
        assertEquals("GET network: busy", transientOf(read).getMessage());

        for (String method : new String[] {"POST", "PUT", "DELETE"}) {
            Attempt write = failures.refused(method, method + " fixedaddress", 502, error("Server.Busy", "busy"));
            assertInstanceOf(Attempt.Failed.class, write, method);
            assertTrue(transientOf(write).mayHaveBeenApplied(), method);
            assertEquals(502, transientOf(write).httpStatus());
        }
    }

    @Test
    void aFourHundredIsARefusalBeforeTheWorkNeverRepeatedAndNeverApplied() {
        for (int status : new int[] {408, 429}) {
            Attempt busy = failures.refused("POST", "POST fixedaddress", status, error("Client.Busy", "later"));
            assertInstanceOf(Attempt.Failed.class, busy);
            assertFalse(transientOf(busy).mayHaveBeenApplied(), String.valueOf(status));
        }
        var notFound = (Attempt.Failed) failures.refused(
                "GET", "GET fixedaddress/x", 404, error("Client.Ibap.Data.NotFound", "Reference not found"));
        assertInstanceOf(WapiException.NotFound.class, notFound.failure());
        assertEquals("Reference not found", notFound.failure().gridText());
        var full = (Attempt.Failed) failures.refused(
                "POST",
                "POST fixedaddress",
                400,
                error("Client.Ibap.Data", "Cannot find 1 available IP address(es) in this network"));
        assertInstanceOf(WapiException.NetworkFull.class, full.failure());
        var auth = (Attempt.Failed) failures.refused("GET", "GET networkview", 401, "<html>no</html>");
        assertInstanceOf(WapiException.AuthenticationFailed.class, auth.failure());
        var raw = (Attempt.Failed) failures.refused("POST", "POST network", 400, "not json");
        assertInstanceOf(WapiException.Rejected.class, raw.failure());
        assertEquals("POST network: not json", raw.failure().getMessage());
    }

    @Test
    void aRequestThatNeverLeftMayBeRepeatedEvenAPost() {
        Attempt refused = WapiFailures.unreachable("POST", "POST fixedaddress", new ConnectException("refused"), true);
        assertInstanceOf(Attempt.Retryable.class, refused);
        assertFalse(transientOf(refused).mayHaveBeenApplied());
        Attempt unsent = WapiFailures.unreachable("POST", "POST fixedaddress", new IOException("closed"), false);
        assertInstanceOf(Attempt.Retryable.class, unsent);
    }

    @Test
    void aBrokenConnectionAfterSendingEndsAPostButAPutOrDeleteIsRetryableAfterALook() {
        Attempt post = WapiFailures.unreachable("POST", "POST fixedaddress", new SocketException("reset"), true);
        assertInstanceOf(Attempt.Failed.class, post);
        assertTrue(transientOf(post).mayHaveBeenApplied());
        assertTrue(transientOf(post).getMessage().endsWith("; the request may have been applied"));
        for (String method : new String[] {"PUT", "DELETE"}) {
            Attempt write =
                    WapiFailures.unreachable(method, method + " fixedaddress/x", new SocketException("reset"), true);
            assertInstanceOf(Attempt.Retryable.class, write, method);
            assertTrue(transientOf(write).mayHaveBeenApplied(), method + ": whoever repeats it looks first");
        }
    }

    @Test
    void nothingIsRepeatedAfterATimeout() {
        for (String method : new String[] {"GET", "POST", "DELETE"}) {
            Attempt slow =
                    WapiFailures.unreachable(method, method + " x", new SocketTimeoutException("Read timed out"), true);
            assertInstanceOf(Attempt.Failed.class, slow, method);
            assertTrue(transientOf(slow).getMessage().contains("no answer in time"));
            assertEquals(!method.equals("GET"), transientOf(slow).mayHaveBeenApplied(), method);
        }
    }

    @Test
    void aMalformedAnswerToAWriteMeansItWasApplied() {
        assertTrue(WapiFailures.malformed("POST", "fixedaddress", "?").mayHaveBeenApplied());
        assertFalse(WapiFailures.malformed("GET", "fixedaddress", "?").mayHaveBeenApplied());
        assertEquals(
                "GET fixedaddress: malformed answer from grid: ?",
                WapiFailures.malformed("GET", "fixedaddress", "?").getMessage());
        assertFalse(WapiFailures.notSent("POST fixedaddress").mayHaveBeenApplied());
    }

    @Test
    void answerOrThrowThrowsTheFailureItself() {
        var failure = WapiFailures.notSent("GET network");
        for (Attempt attempt : new Attempt[] {new Attempt.Failed(failure), new Attempt.Retryable(failure)}) {
            try {
                attempt.answerOrThrow();
                throw new AssertionError("no failure thrown");
            } catch (WapiException.Transient thrown) {
                assertTrue(thrown == failure);
            }
        }
    }
}
