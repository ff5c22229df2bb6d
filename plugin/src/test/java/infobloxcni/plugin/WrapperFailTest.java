package infobloxcni.plugin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import infobloxcni.wire.CniError;
import infobloxcni.wire.CniVersion;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * {@code bin/infoblox} answers by itself when it finds no jar or no java ({@code fail()}): a shell
 * cannot read cni-wire's constants, so its cniVersion and code are written out there, and held
 * equal to {@link CniVersion#LATEST} and {@link CniError#IO_FAILURE} here.
 */
class WrapperFailTest {

    @Test
    void failWritesTheConstantsOfCniWire() throws Exception {
        String wrapper = Files.readString(SubprocessTest.WRAPPER);
        Matcher m = Pattern.compile("printf '\\{\"cniVersion\":\"([^\"]+)\",\"code\":(\\d+),")
                .matcher(wrapper);
        assertTrue(m.find(), "fail() in " + SubprocessTest.WRAPPER + " prints an error JSON");
        assertEquals(CniVersion.LATEST, m.group(1), "fail()'s cniVersion");
        assertEquals(CniError.IO_FAILURE, Integer.parseInt(m.group(2)), "fail()'s code");
    }

    @Test
    void aMissingJarIsAnsweredAsTheConstantsSay() throws Exception {
        Map<String, String> env = SubprocessTest.env("ADD");
        env.put("INFOBLOX_CNI_PLUGIN_JAR", "/nonexistent/plugin.jar");
        SubprocessTest.Result r = SubprocessTest.exec(List.of(SubprocessTest.WRAPPER.toString()), env, "{}");
        assertEquals(1, r.exitCode(), r.toString());
        assertEquals((long) CniError.IO_FAILURE, r.json().get("code"), r.toString());
        assertEquals(CniVersion.LATEST, r.json().get("cniVersion"), r.toString());
    }
}
