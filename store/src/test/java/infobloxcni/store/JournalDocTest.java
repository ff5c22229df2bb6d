package infobloxcni.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * docs/journal.md against the code it describes: the record version written, and every state
 * with its code on disk. The page once described version 1 and three states while the code wrote
 * version 2 with seven; this keeps them together.
 */
class JournalDocTest {
    private static String page() throws Exception {
        return Files.readString(Path.of("..", "docs", "journal.md"));
    }

    @Test
    void thePageNamesTheRecordVersionTheCodecWrites() throws Exception {
        String page = page();
        int written = AttachmentCodec.RECORD_VERSION;
        assertTrue(page.contains("### Log format (format version 1, record version " + written + ")"), "log heading");
        assertTrue(page.contains("### Snapshot format (format version 1, record version " + written + ")"), "snapshot");
        assertTrue(page.contains("u8 recordVersion = " + written + " , u8 type"), "log payload");
        assertTrue(page.contains("payload is u8 recordVersion = " + written + " , attachment"), "snapshot record");
        for (int v = 1; v <= written; v++) assertTrue(AttachmentCodec.readable(v), "version " + v + " is read");
    }

    @Test
    void thePagesStateTableIsTheEnumWithItsCodes() throws Exception {
        Map<Integer, String> documented = new LinkedHashMap<>();
        Matcher row = Pattern.compile("(?m)^\\| (\\d+) \\| ([A-Z_]+) \\|").matcher(page());
        while (row.find()) documented.put(Integer.parseInt(row.group(1)), row.group(2));
        Map<Integer, String> code = new LinkedHashMap<>();
        for (AttachmentState s : AttachmentState.values()) code.put(s.code(), s.name());
        assertEquals(code, documented);
    }
}
