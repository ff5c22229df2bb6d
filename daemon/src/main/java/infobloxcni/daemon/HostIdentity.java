package infobloxcni.daemon;

import infobloxcni.daemon.cni.CniName;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * The host ID this state directory's reservations were made under ({@code <state-dir>/host-id}).
 * Every reservation names its host in its comment, so a host started with a new
 * {@code --host-id} would no longer recognise its own: its containers' releases would count
 * as done and leak, its pool addresses would look like someone else's. When the ID on disk
 * differs from the configured one, the host was renamed: the former ID's reservations stay this
 * host's ({@link ReservationTags#formerHostId}) until the start-up merge has retagged every one
 * of them under the new ID, and only then is the new ID written here. Written 0600 through a
 * temp file and a rename, so a crash leaves the old ID or the new one, never half of either.
 *
 * <p>A state directory copied to another machine carries the first host's ID with it; that
 * machine would take the first host's reservations over. Never copy a state directory to a
 * host: start a new host with an empty one.
 */
final class HostIdentity {
    private static final System.Logger LOG = System.getLogger(HostIdentity.class.getName());
    static final String FILE = "host-id";

    private HostIdentity() {}

    /**
     * The ID this host had before it was renamed, or null: none, or the same. A state directory
     * without the file (a first start, or one from before the file existed) takes the configured ID.
     */
    static String formerOf(Path stateDir, String hostId) {
        Path file = stateDir.resolve(FILE);
        try {
            if (!Files.exists(file)) {
                write(stateDir, hostId);
                return null;
            }
            String onDisk = Files.readString(file, StandardCharsets.UTF_8).strip();
            if (onDisk.equals(hostId) || !CniName.isValid(onDisk)) return null;
            LOG.log(
                    System.Logger.Level.WARNING,
                    "this host was {0} and is now {1} (--host-id): the reservations of {0} are this host''s, "
                            + "and are retagged as {1} once the grid answers",
                    onDisk,
                    hostId);
            return onDisk;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read or write " + file + ": " + e.getMessage(), e);
        }
    }

    /** Records {@code hostId} as the ID of this state directory's reservations. */
    static void write(Path stateDir, String hostId) throws IOException {
        Path tmp = stateDir.resolve(FILE + ".tmp");
        Files.deleteIfExists(tmp);
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
            out.write(java.nio.ByteBuffer.wrap((hostId + "\n").getBytes(StandardCharsets.UTF_8)));
            out.force(true);
        }
        Files.move(tmp, stateDir.resolve(FILE), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }
}
