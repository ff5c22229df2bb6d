package infobloxcni.daemon;

import static org.junit.jupiter.api.Assertions.assertTrue;

import infobloxcni.wire.Envelope;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

/**
 * The jar the end-to-end tests' {@code bin/infoblox} runs: plugin/target/plugin.jar once the plugin
 * module is packaged (mvn verify), which the wrapper finds itself; before that ({@code mvn test}
 * runs before {@code package}) a jar holding nothing but a manifest whose Class-Path names the
 * plugin's classes and cni-wire's.
 */
final class PluginJar {
    private PluginJar() {}

    /** Null when plugin/target/plugin.jar is built; else such a stand-in, made in {@code dir}, for INFOBLOX_CNI_PLUGIN_JAR. */
    static Path unlessPackaged(Path binDir, Path dir) throws IOException {
        Path target = binDir.resolveSibling("plugin").resolve("target");
        if (Files.isRegularFile(target.resolve("plugin.jar"))) return null;
        Path classes = target.resolve("classes");
        assertTrue(
                Files.isRegularFile(classes.resolve("infobloxcni/plugin/PluginMain.class")),
                "neither plugin.jar nor the plugin's classes in " + target + ": build the plugin module first");
        Path wire;
        try {
            wire = Path.of(Envelope.class
                    .getProtectionDomain()
                    .getCodeSource()
                    .getLocation()
                    .toURI());
        } catch (URISyntaxException e) {
            throw new IOException(e);
        }
        Manifest manifest = new Manifest();
        manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        manifest.getMainAttributes().put(Attributes.Name.CLASS_PATH, classes.toUri() + " " + wire.toUri());
        Path jar = dir.resolve("plugin-classes.jar");
        try (OutputStream out = Files.newOutputStream(jar);
                JarOutputStream ignored = new JarOutputStream(out, manifest)) {
            return jar;
        }
    }
}
