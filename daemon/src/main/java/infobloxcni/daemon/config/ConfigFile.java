package infobloxcni.daemon.config;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * The daemon's configuration file ({@value #DEFAULT_PATH} unless {@code --config FILE}): every
 * flag settable under its long name without the dashes, one {@code name = value} per line,
 * {@code #} comments. A flag on the command line beats the file, which beats the default.
 *
 * <p>The file is read by {@link Properties} and handed to picocli as its default values through
 * picocli's own {@link CommandLine.PropertiesDefaultProvider}: nothing here parses a line. What
 * is added is what an operator needs from a file: an unknown name, or a value picocli or the
 * configuration refuses, stops the start with a message that names the setting and the file; and
 * {@link #sourceOf} says where each effective value came from ({@code --print-config}).
 *
 * <p>The names a file may hold are the daemon's (the recover command reads the same file and
 * takes what it shares with the daemon).
 */
public final class ConfigFile implements CommandLine.IDefaultValueProvider {
    public static final String DEFAULT_PATH = "/etc/infoblox-cni/daemon.conf";
    /** Flags that only make sense on a command line. */
    private static final Set<String> NOT_IN_A_FILE = Set.of("config", "print-config", "help", "version");

    private final Path path;
    private final Properties values;
    private final CommandLine.PropertiesDefaultProvider lookup;

    private ConfigFile(Path path, Properties values) {
        this.path = path;
        this.values = values;
        this.lookup = new CommandLine.PropertiesDefaultProvider(values);
    }

    /**
     * The command line of a program whose settings the file may hold: its defaults come from the
     * file the arguments name (or the default one), and a value refused there names the file.
     *
     * @param settings the names the file may hold (the daemon's: {@link DaemonMain#settings()}); null
     *     when they are the command's own (the daemon: its spec is then built once, not twice, a
     *     tenth of its start-up)
     * @return null when the file itself is unusable, after saying why on {@code err}
     */
    public static CommandLine commandLine(
            String program,
            Object command,
            SharedFlags host,
            CommandSpec settings,
            String[] args,
            java.io.PrintStream err) {
        CommandLine line = new CommandLine(command);
        ConfigFile file;
        try {
            file = forArguments(args, settings != null ? settings : line.getCommandSpec());
        } catch (IllegalArgumentException e) {
            err.println(program + ": " + e.getMessage());
            return null;
        }
        host.readFrom(file);
        line.setDefaultValueProvider(file);
        line.setParameterExceptionHandler((e, given) -> {
            err.println(program + ": " + file.explain(e.getMessage()));
            err.println("(see " + program + " --help)");
            return 2;
        });
        return line;
    }

    /** No file: every value is a flag's or a default. */
    public static ConfigFile none() {
        return new ConfigFile(null, new Properties());
    }

    /**
     * The file the arguments name with {@code --config}, else the default one if it exists.
     *
     * @throws IllegalArgumentException when a named file cannot be read, or a name in it is no setting
     */
    public static ConfigFile forArguments(String[] args, CommandSpec settings) {
        String named = null;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--config") && i + 1 < args.length) named = args[i + 1];
            else if (args[i].startsWith("--config=")) named = args[i].substring("--config=".length());
        }
        Path file = Path.of(named != null ? named : DEFAULT_PATH);
        Properties values = new Properties();
        try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            values.load(in);
        } catch (NoSuchFileException e) {
            if (named != null) throw new IllegalArgumentException("--config " + file + ": no such file");
            return none();
        } catch (IOException | IllegalArgumentException e) {
            throw new IllegalArgumentException("cannot read the configuration file " + file + ": " + e.getMessage(), e);
        }
        ConfigFile config = new ConfigFile(file, values);
        config.checkNames(settings);
        return config;
    }

    /** Every name must be one of the settings' long names (without dashes), subcommands' included. */
    private void checkNames(CommandSpec settings) {
        Set<String> known = new TreeSet<>();
        collectNames(settings, known);
        known.removeAll(NOT_IN_A_FILE);
        for (String name : new TreeSet<>(values.stringPropertyNames())) {
            if (!known.contains(name)) {
                throw new IllegalArgumentException(
                        "unknown setting '" + name + "' in " + path
                                + " (a setting is a long flag without its dashes, e.g. grid-host = grid.example.com; see --help)");
            }
        }
    }

    private static void collectNames(CommandSpec spec, Set<String> into) {
        for (OptionSpec o : spec.options()) into.add(nameOf(o));
        for (CommandLine sub : spec.subcommands().values()) collectNames(sub.getCommandSpec(), into);
    }

    /** An option's name in the file: its longest name without the leading dashes. */
    static String nameOf(OptionSpec o) {
        return o.longestName().replaceFirst("^-+", "");
    }

    @Override
    public String defaultValue(ArgSpec arg) throws Exception {
        if (!(arg instanceof OptionSpec o) || NOT_IN_A_FILE.contains(nameOf(o))) return null;
        return lookup.defaultValue(arg);
    }

    /** Whether the file sets this option. */
    boolean sets(OptionSpec o) {
        return setsName(nameOf(o));
    }

    /** Whether the file sets the setting of this name. */
    public boolean setsName(String name) {
        return values.containsKey(name);
    }

    /** The file, or null when none is read. */
    public Path path() {
        return path;
    }

    /**
     * Says which setting of the file a message about a flag is about: a value refused by picocli
     * or by the configuration ("--wapi-port ...") names the line to change.
     */
    public String explain(String message) {
        if (path == null || message == null) return message;
        for (String name : values.stringPropertyNames()) {
            if (message.contains("--" + name + "'")
                    || message.contains("--" + name + " ")
                    || message.contains("--" + name + ":")
                    || message.endsWith("--" + name)) {
                return message + " (set by '" + name + " = " + values.getProperty(name) + "' in " + path + ")";
            }
        }
        return message;
    }

    /** Where an option's effective value comes from: the command line, this file, or its default. */
    String sourceOf(OptionSpec o, CommandLine.ParseResult parsed) {
        if (matched(o, parsed)) return "command line";
        if (sets(o)) return path.toString();
        return "default";
    }

    /** The value as written where it came from (a flag's, the file's, the default's string). */
    String textOf(OptionSpec o, CommandLine.ParseResult parsed) {
        for (CommandLine.ParseResult p = parsed; p != null; p = p.subcommand()) {
            OptionSpec m = p.matchedOption(o.longestName());
            if (m != null && !p.matchedOption(o.longestName()).stringValues().isEmpty()) {
                List<String> given = m.stringValues();
                return given.get(given.size() - 1);
            }
        }
        if (sets(o)) return values.getProperty(nameOf(o));
        return o.defaultValue();
    }

    private static boolean matched(OptionSpec o, CommandLine.ParseResult parsed) {
        for (CommandLine.ParseResult p = parsed; p != null; p = p.subcommand()) {
            if (p.hasMatchedOption(o.longestName())) return true;
        }
        return false;
    }

    /**
     * The effective settings of a parsed command, in the order of its help, each with where it
     * came from; the password is never shown (only whether it is set, and from where).
     */
    public Map<String, String[]> effective(CommandSpec spec, CommandLine.ParseResult parsed, String passwordFromEnv) {
        Map<String, String[]> out = new LinkedHashMap<>();
        for (OptionSpec o : spec.options()) {
            String name = nameOf(o);
            if (NOT_IN_A_FILE.contains(name) || o.usageHelp() || o.versionHelp()) continue;
            String text = textOf(o, parsed);
            String source = sourceOf(o, parsed);
            if (name.equals("wapi-password")) {
                if (text == null && passwordFromEnv != null) {
                    text = "";
                    source = "environment WAPI_PASSWORD";
                }
                text = text == null ? "(not set)" : "********";
            }
            out.put(name, new String[] {text == null ? "" : text, source});
        }
        return out;
    }
}
