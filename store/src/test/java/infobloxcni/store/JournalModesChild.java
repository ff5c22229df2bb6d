package infobloxcni.store;

import java.nio.file.Path;

/**
 * Child process of {@link JournalFileModesTest}, run under a chosen umask: creates everything the
 * store can create under {@code args[0]} (missing parents, the journal directory, LOCK, logs,
 * snapshots, a quarantine directory), then prints {@code ok}.
 */
public final class JournalModesChild {
    public static void main(String[] args) throws Exception {
        JournalFileModesTest.createEverything(Path.of(args[0]));
        System.out.println("ok");
    }
}
