package infobloxcni.daemon;

import infobloxcni.wapisim.WapiSimulator;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/** Base of the tests that need a simulated grid and one daemon ("host-a") in front of it. */
public abstract class GridAndDaemonTest {
    @TempDir
    protected Path dir;

    protected WapiSimulator grid;
    protected TestHost host;

    @BeforeEach
    void startGridAndDaemon() throws Exception {
        grid = TestHost.startGrid();
        host = new TestHost(grid, dir, "host-a").start();
    }

    @AfterEach
    void stopGridAndDaemon() {
        host.close();
        grid.close();
    }

    /** The grid's fixed addresses whose {@code VM ID} is this container. */
    protected List<Map<String, Object>> reservationsOf(String containerId) {
        return TestHost.reservationsOf(grid, containerId);
    }

    protected static String ea(Map<String, Object> object, String name) {
        return TestHost.ea(object, name);
    }
}
