package infobloxcni.wapi;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/** The {@code extensibleattributedef} object: which EAs the grid has defined (a write naming another is refused). */
final class EaDefinitions {
    private final WapiObjects objects;

    EaDefinitions(WapiObjects objects) {
        this.objects = objects;
    }

    /** Which of {@code names} are not defined on the grid, in their order. */
    Set<String> missing(Collection<String> names) {
        Set<String> defined = new LinkedHashSet<>();
        for (JsonNode def : objects.search("extensibleattributedef", Map.of(), "name"))
            defined.add(def.path("name").asText());
        Set<String> missing = new LinkedHashSet<>(names);
        missing.removeAll(defined);
        return missing;
    }
}
