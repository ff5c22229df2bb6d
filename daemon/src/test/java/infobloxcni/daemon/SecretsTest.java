package infobloxcni.daemon;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import infobloxcni.wapisim.WapiSimulator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the daemon says at start about its credentials: plain http sends them in clear (it used
 * to be logged as {@code sslVerify=true}, with no warning), and a password file others may read is
 * as good as published. The password itself is never logged.
 */
class SecretsTest {
    @TempDir
    Path dir;

    @Test
    void plainHttpAndAReadablePasswordFileAreWarnedAboutAndLoggedAsTheyAre() throws Exception {
        String password = "pw-" + Long.toHexString(new java.security.SecureRandom().nextLong());
        Path passwordFile = Files.writeString(dir.resolve("wapi-password"), password + "\n");
        Files.setPosixFilePermissions(passwordFile, PosixFilePermissions.fromString("rw-r--r--"));
        try (WapiSimulator grid = WapiSimulator.builder()
                .port(0)
                .credentials(TestHost.USER, password)
                .https(false)
                .build()
                .start()) {
            TestHost host = new TestHost(grid, dir, "host-s");
            try (DaemonProcess daemon = DaemonProcess.start(
                    grid, host, dir, "", List.of(), "--wapi-password-file", passwordFile.toString())) {
                daemon.awaitServing(host);
                String log = daemon.fullLog();
                String starting = log.lines()
                        .filter(l -> l.contains("starting with"))
                        .findFirst()
                        .orElse("");
                assertTrue(
                        starting.contains("http://127.0.0.1") && !starting.contains("sslVerify"),
                        "the start line says what the daemon does: " + starting);
                assertTrue(
                        log.contains("WARNING") && log.contains("--wapi-scheme http") && log.contains("clear text"),
                        log);
                assertTrue(log.contains("the WAPI password's file " + passwordFile + " may be read by others"), log);
                assertFalse(log.contains(password), "the password itself is never logged");
                // resilience4j logs through SLF4J, bound to the JDK's logging: no "SLF4J(W): No SLF4J providers" at
                // start
                assertFalse(log.contains("SLF4J"), log);
            }
        }
    }
}
