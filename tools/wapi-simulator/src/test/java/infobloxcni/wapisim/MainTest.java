package infobloxcni.wapisim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class MainTest {
    @Test
    void cliOptionsStartASimulatorAndAnnounceIt(@TempDir Path dir) throws Exception {
        Path pw = dir.resolve("pw");
        Files.writeString(pw, "from-file\n");
        Path seed = dir.resolve("seed.json");
        Files.writeString(seed, "{\"network\": [{\"network\": \"10.0.0.0/24\"}]}");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        WapiSimulatorMain main = new WapiSimulatorMain(
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8),
                Map.of("WAPI_PASSWORD", "from-env"));
        new CommandLine(main)
                .parseArgs(
                        "--port",
                        "0",
                        "--password-file",
                        pw.toString(),
                        "--seed",
                        seed.toString(),
                        "--latency-ms",
                        "1",
                        "--capacity",
                        "4",
                        "--username",
                        "ops");
        try (WapiSimulator sim = main.startSimulator()) {
            assertEquals(
                    "infoblox-wapi-sim listening on http://127.0.0.1:" + sim.port() + "\n",
                    out.toString(StandardCharsets.UTF_8));
            TestClient c = new TestClient(sim, HttpClient.newHttpClient(), "ops", "from-file");
            assertEquals(1, c.get("network").json().size());
            assertEquals(1, sim.faults().latency().toMillis());
            assertEquals(4, sim.faults().capacity());
        }
    }

    @Test
    void passwordComesFromTheEnvironmentAndAPlainFlagIsWarnedAbout() throws Exception {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        WapiSimulatorMain main = new WapiSimulatorMain(
                new PrintStream(new ByteArrayOutputStream()),
                new PrintStream(err, true, StandardCharsets.UTF_8),
                Map.of("WAPI_PASSWORD", "from-env"));
        new CommandLine(main).parseArgs("--port", "0");
        try (WapiSimulator sim = main.startSimulator()) {
            assertEquals(
                    200,
                    new TestClient(sim, HttpClient.newHttpClient(), "admin", "from-env")
                            .get("network")
                            .status());
        }
        assertEquals("", err.toString(StandardCharsets.UTF_8));

        WapiSimulatorMain flagged = new WapiSimulatorMain(
                new PrintStream(new ByteArrayOutputStream()),
                new PrintStream(err, true, StandardCharsets.UTF_8),
                Map.of());
        new CommandLine(flagged).parseArgs("--port", "0", "--password", "visible");
        try (WapiSimulator sim = flagged.startSimulator()) {
            assertEquals(
                    200,
                    new TestClient(sim, HttpClient.newHttpClient(), "admin", "visible")
                            .get("network")
                            .status());
        }
        String warning = err.toString(StandardCharsets.UTF_8);
        assertTrue(warning.contains("visible to other users in ps"), warning);
        assertTrue(
                !warning.contains("visible\n") && !warning.contains(": visible"), "the password itself is not echoed");
    }

    @Test
    void badOptionsFailWithAUsageError() {
        int code = new CommandLine(new WapiSimulatorMain()).execute("--port", "notanumber");
        assertEquals(2, code);
    }
}
