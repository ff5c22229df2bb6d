package infobloxcni.wapisim;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Search conditions ({@code f=v}, {@code f~=re}, {@code f:=v}, {@code f!=v}, {@code *EA=v}) and how an
 * object matches them: conditions are AND-ed, MACs compare without regard to case, a multi-value EA
 * matches when any value does, and {@code !=} needs the field to be set. Checking a condition against
 * the schema gives the grid's errors for a field that is unknown, not searchable or not searchable that way.
 */
final class SearchConditions {

    /** A search condition from a query parameter. */
    record Cond(String field, boolean ea, Op op, boolean ignoreCase, String value, Pattern regex) {}

    enum Op {
        EQ,
        NE,
        REGEX
    }

    private final ObjectStore store;
    private final ObjectRenderer renderer;

    SearchConditions(ObjectStore store, ObjectRenderer renderer) {
        this.store = store;
        this.renderer = renderer;
    }

    /** Builds a condition, compiling the regex; a bad regex is a 400. */
    static Cond cond(String field, boolean ea, Op op, boolean ignoreCase, String value) {
        Pattern p = null;
        if (op == Op.REGEX) {
            try {
                p = Pattern.compile(value, ignoreCase ? Pattern.CASE_INSENSITIVE : 0);
            } catch (PatternSyntaxException e) {
                throw WapiError.proto("Invalid regular expression: " + value);
            }
        }
        return new Cond(field, ea, op, ignoreCase, value, p);
    }

    static WapiError unknownEa(String name) {
        return WapiError.proto("Unknown extensible attribute: " + name);
    }

    /** Refuses a condition the type cannot be searched by, with the grid's text. */
    void check(ObjectSpecs.Spec spec, Cond c) {
        if (c.ea()) {
            if (store.eaDef(c.field()) == null) throw unknownEa(c.field());
            return;
        }
        if (!spec.searchable().contains(c.field())) {
            if (spec.readable().contains(c.field())) throw WapiError.proto("Field is not searchable: " + c.field());
            throw WapiError.proto("Unknown argument/field: '" + c.field() + "'");
        }
        if ((c.op() == Op.REGEX || c.ignoreCase()) && !spec.regexSearchable().contains(c.field())) {
            throw WapiError.proto("Search modifier not allowed for field: " + c.field());
        }
    }

    /** The objects of a type that match every condition, in creation order (conditions already checked). */
    List<GridObject> matching(String type, List<Cond> conds) {
        List<GridObject> hits = new ArrayList<>();
        for (GridObject o : store.all(type)) {
            if (matches(o, conds)) hits.add(o);
        }
        return hits;
    }

    private boolean matches(GridObject o, List<Cond> conds) {
        for (Cond c : conds) {
            List<String> values = new ArrayList<>();
            if (c.ea()) {
                Object v = o.ea.get(c.field());
                if (v instanceof List<?> l) {
                    for (Object x : l) values.add(String.valueOf(x));
                } else if (v != null) {
                    values.add(String.valueOf(v));
                }
            } else {
                Object v = renderer.value(o, c.field());
                if (v != null) values.add(String.valueOf(v));
            }
            boolean macField = !c.ea() && c.field().equals("mac");
            boolean any = false;
            for (String v : values) {
                if (test(c, v, macField)) {
                    any = true;
                    break;
                }
            }
            if (c.op() == Op.NE) {
                if (!values.isEmpty() && !any) continue;
                return false;
            }
            if (!any) return false;
        }
        return true;
    }

    private static boolean test(Cond c, String v, boolean macField) {
        return switch (c.op()) {
            case REGEX -> c.regex().matcher(v).find();
            case EQ, NE -> {
                boolean eq = c.ignoreCase() || macField ? v.equalsIgnoreCase(c.value()) : v.equals(c.value());
                yield c.op() == Op.EQ ? eq : !eq;
            }
        };
    }
}
