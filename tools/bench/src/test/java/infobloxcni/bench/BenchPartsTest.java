package infobloxcni.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

/** The parts of the bench that could silently measure the wrong thing. */
class BenchPartsTest {

    /** The floor and java -version must run with the plugin's JVM flags, read from the wrapper itself. */
    @Test
    void readsThePluginsJvmFlagsFromTheWrapper() throws Exception {
        List<String> flags = Cni.flagsOf(Path.of("..", "..", "bin", "infoblox"));
        assertEquals("-Xlog:disable", flags.getFirst());
        assertTrue(flags.contains("-XX:+UseSerialGC"), flags.toString());
        assertTrue(flags.contains("-XX:TieredStopAtLevel=1"), flags.toString());
        assertTrue(flags.stream().allMatch(f -> f.startsWith("-X")), flags.toString());
    }

    @Test
    void percentilesAreNearestRank() {
        List<Long> hundred =
                LongStream.rangeClosed(1, 100).map(ms -> ms * 1_000_000).boxed().toList();
        Summary s = Summary.ofNanos(hundred);
        assertEquals(50.0, s.p50());
        assertEquals(90.0, s.p90());
        assertEquals(99.0, s.p99());
        assertEquals(50.5, s.mean());
        assertEquals(
                3.0,
                Summary.ofNanos(List.of(3_000_000L, 1_000_000L, 2_000_000L)).p99());
    }

    @Test
    void namesAWapiCallLikeTheSimulatorsCounters() {
        assertEquals(
                "PUT fixedaddress",
                Probe.typeOf("PUT /wapi/v2.5/fixedaddress/ZG5zLmZpeGVk:10.1.0.2/view?_return_fields=x -> 200"));
        assertEquals("POST request", Probe.typeOf("POST /wapi/v2.5/request -> 200"));
    }
}
