package infobloxcni.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code infoblox-cni-daemon status}: what the running daemon sees, asked over its socket (root
 * only): version and uptime, the grid's health and last error, journal records by state, what is
 * still to be done on the grid with each one's next try, and the pools. It finds the socket with
 * {@code --socket-dir}/{@code --driver-name}, from the flags or the settings file.
 *
 * <p>Exit codes: 0 the daemon answered, 1 it answered and the grid is down or refuses us (the
 * credentials, or its TLS certificate), 3 no answer.
 */
@Command(
        name = "status",
        mixinStandardHelpOptions = true,
        usageHelpWidth = 110,
        description = "Shows what the running daemon sees (asked over its socket; root only).")
final class StatusCommand implements Callable<Integer> {
    @ParentCommand
    DaemonMain daemon;

    @Option(names = "--json", description = "print the daemon's answer as JSON")
    boolean json;

    @Option(
            names = "--settings",
            description = "print the settings the running daemon uses, each with where it came from (password"
                    + " hidden): the unit's flags and daemon.env included, which --print-config cannot see")
    boolean settings;

    @Override
    public Integer call() {
        PrintStream out = daemon.out;
        PrintStream err = daemon.err;
        Path socket = daemon.host.socketDir.resolve(daemon.host.driverName + ".sock");
        JsonNode status;
        try {
            if (!AdminClient.serving(socket))
                return noAnswer(
                        socket,
                        "no daemon answers on " + socket + " (is it running? systemctl status infoblox-cni-daemon)");
            status = AdminClient.ask(socket, "status", new byte[0]);
        } catch (IOException e) {
            return noAnswer(socket, e.getMessage());
        }
        if (settings) status.path("settings").forEach(l -> out.println(l.asText()));
        else if (json) out.println(status.toPrettyString());
        else printTable(status, out);
        JsonNode grid = status.path("grid");
        return grid.path("failingFast").asBoolean() || grid.path("refusing").asBoolean() ? 1 : 0;
    }

    /**
     * No answer (exit 3): the reason on stderr, and with {@code --json} a JSON document on stdout
     * too, so that a script reading it never has to parse an error text.
     */
    private int noAnswer(Path socket, String why) {
        daemon.err.println("infoblox-cni-daemon status: " + why);
        if (json) {
            com.fasterxml.jackson.databind.node.ObjectNode doc = infobloxcni.daemon.cni.NetConf.JSON.createObjectNode();
            doc.put("answering", false).put("socket", socket.toString()).put("error", why);
            daemon.out.println(doc.toPrettyString());
        }
        return 3;
    }

    static void printTable(JsonNode s, PrintStream out) {
        long up = s.path("uptimeSeconds").asLong();
        out.printf(
                "daemon    infoblox-cni-daemon %s, up %dd %02dh %02dm %02ds (since %s)%n",
                s.path("version").asText(),
                up / 86400,
                up / 3600 % 24,
                up / 60 % 60,
                up % 60,
                s.path("started").asText());
        if (s.has("rssBytes"))
            out.printf("memory    %.1f MiB resident%n", s.get("rssBytes").asLong() / 1048576.0);
        out.printf(
                "settings  %s; metrics %s%n",
                s.hasNonNull("settingsFile") ? s.get("settingsFile").asText() : "no settings file",
                s.hasNonNull("metricsAddress") ? "on " + s.get("metricsAddress").asText() : "off");
        JsonNode grid = s.path("grid");
        if (grid.hasNonNull("url"))
            out.printf(
                    "wapi      %s (WAPI %s)%n",
                    grid.get("url").asText(), grid.path("wapiVersion").asText());
        StringBuilder ops = new StringBuilder();
        s.path("operations")
                .properties()
                .forEach(e -> ops.append(ops.isEmpty() ? "" : ", ")
                        .append(e.getKey())
                        .append(' ')
                        .append(e.getValue().path("ok").asLong())
                        .append(" ok")
                        .append(
                                e.getValue().path("errors").asLong() == 0
                                        ? ""
                                        : " " + e.getValue().path("errors").asLong() + " failed"));
        out.printf("answered  %s%n", ops.isEmpty() ? "nothing yet" : ops);
        out.printf(
                "grid      %s since %s%s%n",
                grid.path("state").asText(),
                grid.path("since").asText(),
                grid.hasNonNull("lastError")
                        ? "; last error: " + grid.get("lastError").asText()
                                + (grid.hasNonNull("lastErrorAt")
                                        ? " (at " + grid.get("lastErrorAt").asText() + ")"
                                        : "")
                        : "");
        StringBuilder journal = new StringBuilder();
        s.path("journal")
                .properties()
                .forEach(e -> journal.append(journal.isEmpty() ? "" : ", ")
                        .append(e.getKey())
                        .append(' ')
                        .append(e.getValue().asInt()));
        out.printf(
                "journal   %s%s%n",
                journal.isEmpty() ? "empty" : journal,
                s.path("journalMerged").asBoolean(true) ? "" : " (not merged with the grid yet: it may lack records)");
        JsonNode pending = s.path("pending");
        out.printf("pending   %d%n", pending.size());
        for (JsonNode p : pending) {
            out.printf(
                    "          %-14s %s %s/%s %s, %d attempt(s), next try %s%s%n",
                    p.path("state").asText(),
                    p.path("network").asText(),
                    p.path("containerId").asText(),
                    p.path("ifName").asText(),
                    p.hasNonNull("address") ? p.get("address").asText() : "-",
                    p.path("attempts").asInt(),
                    p.path("nextTry").asText(),
                    p.hasNonNull("lastError")
                            ? "; last error: " + p.get("lastError").asText()
                            : "");
        }
        for (JsonNode c : s.path("conflicts")) {
            out.printf(
                    "CONFLICT  %s %s/%s %s: %s%n",
                    c.path("network").asText(),
                    c.path("containerId").asText(),
                    c.path("ifName").asText(),
                    c.path("address").asText(),
                    c.path("detail").asText());
        }
        if (s.path("pools").isEmpty()) out.println("pools     none");
        s.path("pools").properties().forEach(e -> {
            JsonNode p = e.getValue();
            String target = p.path("targetKnown").asBoolean(true)
                    ? "of " + p.path("target").asInt()
                    : "(target unknown until a request names the network)";
            out.printf(
                    "pool      %s: %d free %s%s%n",
                    e.getKey(),
                    p.path("free").asInt(),
                    target,
                    p.hasNonNull("refused")
                            ? "; refills refused by the grid: "
                                    + p.get("refused").asText()
                            : "");
            for (JsonNode l : p.path("byViewAndSubnet"))
                out.printf(
                        "            view %s, %s: %d free%n",
                        l.path("view").asText(),
                        l.path("subnet").asText(),
                        l.path("free").asInt());
        });
    }
}
