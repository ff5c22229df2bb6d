package infobloxcni.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The daemon's rooms (its packages) as docs/architecture.md lists them, held against the code:
 * each room uses only the rooms before it in {@link #ROOMS}, and every class of the daemon is
 * named in that document, so neither a back edge nor a class the newcomer's map lacks can creep in.
 */
class DaemonLayersTest {
    /** Bottom to top; the wiring ({@code infobloxcni.daemon} itself) may use them all. */
    static final List<String> ROOMS =
            List.of("cni", "grid", "server", "config", "state", "settle", "audit", "ipam", "observe");

    private static final Path MAIN = Path.of("src/main/java/infobloxcni/daemon");
    private static final Pattern USE = Pattern.compile("infobloxcni\\.daemon\\.([a-z]+)\\.[A-Z]");

    private static List<Path> sources() throws IOException {
        try (Stream<Path> files = Files.walk(MAIN)) {
            return files.filter(f -> f.toString().endsWith(".java")).sorted().toList();
        }
    }

    private static String roomOf(Path source) {
        Path dir = MAIN.relativize(source).getParent();
        return dir == null ? "" : dir.toString();
    }

    @Test
    void eachRoomUsesOnlyTheRoomsBeforeIt() throws IOException {
        List<String> backEdges = new ArrayList<>();
        for (Path source : sources()) {
            String room = roomOf(source);
            if (room.isEmpty()) continue; // the wiring
            int mine = ROOMS.indexOf(room);
            if (mine < 0) {
                backEdges.add(source + ": room " + room + " is not in the list (and not in docs/architecture.md)");
                continue;
            }
            Matcher m = USE.matcher(Files.readString(source));
            while (m.find()) {
                int used = ROOMS.indexOf(m.group(1));
                if (used > mine)
                    backEdges.add(source.getFileName() + " (" + room + ") uses " + m.group(1) + ", a room above it");
            }
            for (String wiring : List.of("Daemon", "DaemonMain", "AdminCommands", "RequestHandler")) {
                if (Pattern.compile("import infobloxcni\\.daemon\\." + wiring + ";")
                        .matcher(Files.readString(source))
                        .find()) backEdges.add(source.getFileName() + " (" + room + ") uses the wiring's " + wiring);
            }
        }
        assertEquals(List.of(), backEdges);
    }

    @Test
    void architectureNamesEveryClassOfTheDaemon() throws IOException {
        String doc = Files.readString(Path.of("..", "docs", "architecture.md"));
        List<String> missing = new ArrayList<>();
        for (Path source : sources()) {
            String name = source.getFileName().toString().replace(".java", "");
            if (!doc.contains("`" + name + "`")) missing.add(name + " (" + roomOf(source) + ")");
        }
        assertEquals(List.of(), missing, "classes docs/architecture.md does not name");
    }
}
