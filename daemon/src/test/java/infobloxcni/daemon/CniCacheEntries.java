package infobloxcni.daemon;

import infobloxcni.store.AttachmentKey;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;

/**
 * The runtime's libcni result cache, as a runtime keeps it: one {@code cniCacheV1} entry per
 * attachment, {@code <dir>/<network>-<container>-<ifname>}, written after an ADD succeeded and
 * removed once its DEL did (the format {@link JournalRebuilder#readCniCache} reads, see
 * {@code CniCacheTest}).
 */
final class CniCacheEntries {
    private final Path dir;

    CniCacheEntries(Path dir) {
        this.dir = dir;
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    Path file(AttachmentKey key) {
        return dir.resolve(key.network() + "-" + key.containerId() + "-" + key.ifName());
    }

    /** The entry for an ADD that succeeded: the config it ran (the network's single config) and its result. */
    void write(AttachmentKey key, String netconf, String result) {
        String entry = "{\"kind\":\"cniCacheV1\",\"containerId\":\"" + key.containerId() + "\",\"ifName\":\""
                + key.ifName() + "\",\"networkName\":\"" + key.network() + "\",\"config\":\""
                + Base64.getEncoder().encodeToString(netconf.getBytes(StandardCharsets.UTF_8))
                + "\",\"cniArgs\":[[\"IgnoreUnknown\",\"1\"],[\"K8S_POD_NAME\",\"" + key.containerId()
                + "\"]],\"result\":" + result + "}";
        try {
            Files.writeString(file(key), entry);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    void remove(AttachmentKey key) {
        try {
            Files.deleteIfExists(file(key));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    boolean has(AttachmentKey key) {
        return Files.exists(file(key));
    }

    /** The entries' file names in the order the directory lists them (the order a rebuild reads them in). */
    java.util.List<String> listingOrder() {
        try (var files = Files.newDirectoryStream(dir)) {
            java.util.List<String> out = new java.util.ArrayList<>();
            for (Path f : files) out.add(f.getFileName().toString());
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
