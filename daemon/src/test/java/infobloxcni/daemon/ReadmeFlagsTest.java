package infobloxcni.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/**
 * README's "Daemon flags" table against the daemon's own options: every flag is in the table,
 * the table names no flag the daemon lacks, and each default the table gives is the daemon's.
 * The table and the code had drifted before (a flag documented nowhere, a default said twice).
 */
class ReadmeFlagsTest {
    private static final Path README =
            Path.of(System.getProperty("user.dir")).toAbsolutePath().getParent().resolve("README.md");
    private static final Pattern FLAG = Pattern.compile("`(--[a-z0-9-]+)`");

    /** Each flag of the table with the text of its default cell (rows naming several flags split it on ", "). */
    private static Map<String, String> table() throws Exception {
        List<String> lines = Files.readAllLines(README);
        int start = lines.indexOf("## Daemon flags");
        assertTrue(start >= 0, "README has a '## Daemon flags' section");
        Map<String, String> out = new LinkedHashMap<>();
        for (String line : lines.subList(start + 1, lines.size())) {
            if (line.startsWith("## ")) break;
            if (!line.startsWith("| `--")) continue;
            String[] cells = line.split("\\|", -1);
            List<String> flags = new ArrayList<>();
            Matcher m = FLAG.matcher(cells[1]);
            while (m.find()) flags.add(m.group(1));
            String[] defaults = cells[2].trim().split(", ");
            for (int i = 0; i < flags.size(); i++)
                out.put(flags.get(i), defaults.length == flags.size() ? defaults[i].trim() : cells[2].trim());
        }
        return out;
    }

    private static Map<String, OptionSpec> daemonOptions() {
        Map<String, OptionSpec> out = new LinkedHashMap<>();
        for (OptionSpec o : new CommandLine(new DaemonMain()).getCommandSpec().options()) {
            if (o.usageHelp() || o.versionHelp()) continue;
            out.put(o.longestName(), o);
        }
        return out;
    }

    @Test
    void everyFlagIsInTheTableAndTheTableNamesNoOther() throws Exception {
        var documented = new TreeSet<>(table().keySet());
        var actual = new TreeSet<>(daemonOptions().keySet());
        var missing = new TreeSet<>(actual);
        missing.removeAll(documented);
        var unknown = new TreeSet<>(documented);
        unknown.removeAll(actual);
        assertEquals(new TreeSet<String>(), missing, "flags README's table leaves out");
        assertEquals(new TreeSet<String>(), unknown, "flags README's table names that the daemon lacks");
    }

    @Test
    void theDefaultsTheTableGivesAreTheDaemons() throws Exception {
        Map<String, String> table = table();
        List<String> wrong = new ArrayList<>();
        daemonOptions().forEach((name, o) -> {
            String value = o.defaultValue();
            String cell = table.get(name);
            if (value == null || value.isEmpty() || cell == null) return; // no default, or reported above
            if (!cell.replace("*", "").toLowerCase().startsWith(value.toLowerCase()))
                wrong.add(name + ": README says '" + cell + "', the daemon's default is '" + value + "'");
        });
        assertEquals(List.of(), wrong);
    }
}
