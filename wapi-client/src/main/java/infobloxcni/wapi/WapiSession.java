package infobloxcni.wapi;

import java.io.IOException;
import okhttp3.Cookie;
import okhttp3.Credentials;
import okhttp3.Interceptor;
import okhttp3.Request;
import okhttp3.Response;

/**
 * The grid's {@code ibapauth} session, as an okhttp interceptor: once the grid set the cookie,
 * every call presents it instead of the credentials; when it has expired (a 401), the call is
 * made once more with Basic auth, whose answer sets a new one. A logout ends it.
 */
final class WapiSession implements Interceptor {
    private static final String COOKIE = "ibapauth";

    private volatile String basicAuth;
    private volatile String cookie;

    WapiSession(String username, String password) {
        this.basicAuth = Credentials.basic(username, password);
    }

    /**
     * Other credentials from the next call on (a reload): the session the old ones opened is
     * dropped, so that the grid checks the new ones at once rather than when the cookie expires.
     */
    void credentials(String username, String password) {
        basicAuth = Credentials.basic(username, password);
        cookie = null;
    }

    /** Whether the grid has given this client a session (so that closing should log out). */
    boolean open() {
        return cookie != null;
    }

    @Override
    public Response intercept(Chain chain) throws IOException {
        Request original = chain.request();
        String presented = cookie;
        if (presented != null) {
            Response response = chain.proceed(original.newBuilder()
                    .header("Cookie", COOKIE + "=" + presented)
                    .build());
            if (response.code() != 401) return remember(response);
            response.close();
            cookie = null;
        }
        return remember(chain.proceed(
                original.newBuilder().header("Authorization", basicAuth).build()));
    }

    private Response remember(Response response) {
        for (Cookie c : Cookie.parseAll(response.request().url(), response.headers())) {
            if (c.name().equals(COOKIE)) cookie = c.value();
        }
        if (response.request().url().encodedPath().endsWith("/logout")) cookie = null;
        return response;
    }
}
