package infobloxcni.wapisim;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * The answer of a load balancer or reverse proxy in front of a grid that could not get one from it
 * (502 Bad Gateway, 503 Service Unavailable, 504 Gateway Timeout): a short HTML page, not a WAPI
 * JSON body, so a client has nothing to go on but the status. Whether the grid applied the call is
 * unknown to the proxy, and so to the client (see the Fidelity table in docs/wapi-simulator.md).
 */
final class GatewayPage {
    private GatewayPage() {}

    static NettyHttpServer.Reply reply(int status) {
        String title = status + " " + NettyHttpServer.reason(status);
        String html = "<html>\r\n<head><title>" + title + "</title></head>\r\n<body>\r\n<center><h1>" + title
                + "</h1></center>\r\n</body>\r\n</html>\r\n";
        return new NettyHttpServer.Reply(
                new NettyHttpServer.Response(
                        status,
                        List.of(Map.entry("Content-Type", "text/html")),
                        html.getBytes(StandardCharsets.US_ASCII)),
                null);
    }
}
