package infobloxcni.daemon.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import infobloxcni.wapi.SslVerify;
import infobloxcni.wapi.WapiConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A reload's changes: which apply live, which need a restart, and what the live ones leave alone. */
class ConfigChangesTest {
    private static final WapiConfig GRID =
            WapiConfig.of("grid.example", 443, "2.5", "admin", "old-secret", new SslVerify.System());
    private static final DaemonConfig BEFORE =
            DaemonConfig.builder().wapi(GRID).hostId("h1").poolSize(2).build();

    @Test
    void nothingChangedIsNone() {
        assertTrue(ConfigChanges.between(BEFORE, BEFORE.toBuilder().build()).none());
    }

    @Test
    void liveSettingsAreAppliedAndNamedWithTheirValuesButThePasswordByNameAlone() {
        DaemonConfig after = BEFORE.toBuilder()
                .wapi(GRID.withCredentials("ops", "new-secret"))
                .poolSize(4)
                .bounds(new DaemonConfig.VerbBounds(Duration.ofSeconds(9), Duration.ofSeconds(1)))
                .build();
        ConfigChanges changes = ConfigChanges.between(BEFORE, after);
        assertEquals(
                List.of(
                        "wapi-username admin -> ops",
                        "wapi-password",
                        "pool-size 2 -> 4",
                        "add-timeout " + DaemonConfig.VerbBounds.DEFAULTS.add() + " -> PT9S",
                        "del-timeout " + DaemonConfig.VerbBounds.DEFAULTS.del() + " -> PT1S"),
                changes.live());
        assertTrue(changes.restart().isEmpty(), changes.toString());
        assertTrue(!changes.toString().contains("secret"), changes.toString());
        DaemonConfig applied = ConfigChanges.applyLive(BEFORE, after);
        assertEquals("new-secret", applied.wapi().password());
        assertEquals(4, applied.poolSize());
    }

    @Test
    void whatWasBuiltAtTheStartIsNamedAndKeptUntilARestart() {
        DaemonConfig after = BEFORE.toBuilder()
                .socketDir(Path.of("/run/elsewhere"))
                .clusterName("other")
                .wapi(GRID.withTimeouts(Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(3)))
                .poolSize(3)
                .build();
        ConfigChanges changes = ConfigChanges.between(BEFORE, after);
        assertEquals(List.of("pool-size 2 -> 3"), changes.live());
        assertTrue(changes.restart().contains("socket-dir /run/cni -> /run/elsewhere"), changes.toString());
        assertTrue(changes.restart().stream().anyMatch(r -> r.startsWith("cluster-name ")), changes.toString());
        assertTrue(changes.restart().stream().anyMatch(r -> r.startsWith("wapi-read-timeout ")), changes.toString());
        DaemonConfig applied = ConfigChanges.applyLive(BEFORE, after);
        assertEquals(BEFORE.socketDir(), applied.socketDir());
        assertEquals(BEFORE.clusterName(), applied.clusterName());
        assertEquals(BEFORE.wapi().readTimeout(), applied.wapi().readTimeout());
        assertEquals(3, applied.poolSize());
    }
}
