package infobloxcni.plugin;

import infobloxcni.wire.CniError;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * The CNI error JSON the plugin prints for the errors it finds itself (the daemon writes its own):
 * {@code {"cniVersion","code","msg","details"}}, in the configuration's cniVersion. Written by
 * hand with {@link MiniJson#quote}: a JSON library would cost start-up time on every call.
 */
final class ErrorAnswer {

    private ErrorAnswer() {}

    static String json(String cniVersion, int code, String msg, String details) {
        StringBuilder sb = new StringBuilder(256);
        sb.append("{\"cniVersion\":")
                .append(MiniJson.quote(cniVersion))
                .append(",\"code\":")
                .append(code)
                .append(",\"msg\":")
                .append(MiniJson.quote(msg));
        if (details != null && !details.isEmpty()) {
            sb.append(",\"details\":").append(MiniJson.quote(details));
        }
        return sb.append("}\n").toString();
    }

    /** Prints the error on stdout; a stdout that is gone is left to the exit code. */
    static void print(OutputStream stdout, String cniVersion, int code, String msg, String details) {
        try {
            stdout.write(json(cniVersion, code, msg, details).getBytes(StandardCharsets.UTF_8));
            stdout.flush();
        } catch (IOException ignored) {
            // stdout is gone: the exit code still tells
        }
    }

    static void print(OutputStream stdout, String cniVersion, CniError e) {
        print(stdout, cniVersion, e.code(), e.getMessage(), e.details());
    }
}
