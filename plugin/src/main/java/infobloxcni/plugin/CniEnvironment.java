package infobloxcni.plugin;

import infobloxcni.wire.CniError;
import java.io.FileInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;

/**
 * The {@code CNI_*} variables of this call: read from the process (or handed in by a test), and
 * checked before anything is forwarded. Only {@code CNI_*} variables are kept: nothing else of
 * the runtime's environment reaches the daemon.
 */
final class CniEnvironment {

    /** The {@code CNI_*} variables, by name. */
    private final TreeMap<String, String> variables;
    /** The name of a {@code CNI_*} variable whose value is not UTF-8 (and so left out), or null. */
    private final String notUtf8;

    private CniEnvironment(TreeMap<String, String> variables, String notUtf8) {
        this.variables = variables;
        this.notUtf8 = notUtf8;
    }

    /** The {@code CNI_*} variables of a map such as {@link System#getenv()}. */
    static CniEnvironment of(Map<String, String> environment) {
        TreeMap<String, String> env = new TreeMap<>();
        for (Map.Entry<String, String> e : environment.entrySet()) {
            if (e.getKey().startsWith("CNI_")) {
                env.put(e.getKey(), e.getValue());
            }
        }
        return new CniEnvironment(env, null);
    }

    /**
     * This process's: from {@code /proc/self/environ} where there is one ({@link #decode}), else
     * from {@link System#getenv()}.
     */
    static CniEnvironment ofProcess() {
        byte[] environ = readEnviron();
        return environ != null ? decode(environ) : of(System.getenv());
    }

    /** This process's environment as the kernel holds it (the bytes it was started with); null where there is none. */
    static byte[] readEnviron() {
        try (FileInputStream in = new FileInputStream("/proc/self/environ")) {
            return in.readAllBytes();
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /**
     * The {@code CNI_*} variables of an environ block ({@code NAME=value} entries, each ended by a
     * NUL), decoded as UTF-8 whatever the locale. The JVM decodes {@link System#getenv()} with the
     * locale's charset, which under {@code LANG=C} turns every non-ASCII byte into U+FFFD, so that
     * distinct values become equal. The first variable whose value is not UTF-8 is remembered
     * ({@link #command()} reports it) and left out; the first of two entries with one name wins,
     * as with getenv(3).
     */
    static CniEnvironment decode(byte[] environ) {
        TreeMap<String, String> env = new TreeMap<>();
        String notUtf8 = null;
        int start = 0;
        for (int i = 0; i <= environ.length; i++) {
            if (i < environ.length && environ[i] != 0) {
                continue;
            }
            if (i - start > 4
                    && environ[start] == 'C'
                    && environ[start + 1] == 'N'
                    && environ[start + 2] == 'I'
                    && environ[start + 3] == '_') {
                int eq = start;
                while (eq < i && environ[eq] != '=') {
                    eq++;
                }
                if (eq < i) {
                    String name = new String(environ, start, eq - start, StandardCharsets.US_ASCII);
                    try {
                        String value = StandardCharsets.UTF_8
                                .newDecoder()
                                .decode(ByteBuffer.wrap(environ, eq + 1, i - eq - 1))
                                .toString();
                        if (!env.containsKey(name)) {
                            env.put(name, value);
                        }
                    } catch (CharacterCodingException e) {
                        if (notUtf8 == null) {
                            notUtf8 = name;
                        }
                    }
                }
            }
            start = i + 1;
        }
        return new CniEnvironment(env, notUtf8);
    }

    /**
     * {@code CNI_COMMAND}, as it is: whether it names a command is for the dispatcher to say.
     *
     * @throws CniError (4) when a variable is not UTF-8, or CNI_COMMAND is missing or empty
     */
    String command() throws CniError {
        if (notUtf8 != null) {
            throw new CniError(
                    CniError.INVALID_ENV,
                    "environment variable " + notUtf8 + " is not valid UTF-8",
                    "CNI variables are text; the plugin reads them as UTF-8 whatever the locale");
        }
        String command = variables.get("CNI_COMMAND");
        if (command == null || command.isEmpty()) {
            throw new CniError(
                    CniError.INVALID_ENV,
                    "required environment variable CNI_COMMAND is not set",
                    "the runtime sets CNI_COMMAND to one of ADD, DEL, CHECK, GC, STATUS, VERSION");
        }
        return command;
    }

    /** Every {@code CNI_*} variable, the ones the daemon is sent. */
    Map<String, String> variables() {
        return variables;
    }
}
