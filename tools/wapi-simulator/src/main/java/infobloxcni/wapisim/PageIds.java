package infobloxcni.wapisim;

import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The page ids a paged search hands out ({@code next_page_id}), and the cursor each names. An id
 * is opaque hex beginning {@code 789c}, as a grid's are (they look like hex of a zlib stream).
 * A grid's ids do not live for ever and how long they live is not public, so the simulator keeps
 * at most {@value #CAPACITY}, forgets the least recently used first, and forgets all of them on
 * {@link #clear()}: a client must take "unknown page id" as "start the walk again".
 */
final class PageIds {
    static final int CAPACITY = 1024;

    private final SecureRandom random = new SecureRandom();
    private final LinkedHashMap<String, WapiApi.Cursor> ids = new LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, WapiApi.Cursor> eldest) {
            return size() > CAPACITY;
        }
    };

    synchronized String register(WapiApi.Cursor c) {
        byte[] b = new byte[24];
        random.nextBytes(b);
        String id = "789c" + HexFormat.of().formatHex(b);
        ids.put(id, c);
        return id;
    }

    /** The cursor an id names, or null when the id is unknown (never issued, evicted or expired). */
    synchronized WapiApi.Cursor get(String id) {
        return ids.get(id);
    }

    synchronized void clear() {
        ids.clear();
    }
}
