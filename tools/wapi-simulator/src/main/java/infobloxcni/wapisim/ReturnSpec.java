package infobloxcni.wapisim;

import java.util.LinkedHashSet;
import java.util.List;

/**
 * {@code _return_fields} / {@code _return_fields+}: {@code given} false means neither was sent, and then a
 * write answers the bare ref and a read the type's default fields.
 */
record ReturnSpec(boolean given, boolean plus, List<String> fields) {
    static final ReturnSpec NONE = new ReturnSpec(false, false, List.of());

    /** True when the answer is the object itself rather than its ref. */
    static boolean wantsObject(ReturnSpec rs) {
        return rs != null && rs.given();
    }

    /**
     * The fields to answer: the defaults, or exactly the given ones ({@code _return_fields}), or the
     * defaults and the given ones ({@code _return_fields+}). {@code _ref} always comes anyway; a field the
     * type does not have is refused as a grid refuses it.
     */
    static List<String> fieldsOf(ObjectSpecs.Spec spec, ReturnSpec rs) {
        if (!wantsObject(rs)) return spec.defaults();
        LinkedHashSet<String> out = new LinkedHashSet<>();
        if (rs.plus()) out.addAll(spec.defaults());
        for (String f : rs.fields()) {
            if (f.isEmpty() || f.equals("_ref")) continue;
            if (!spec.readable().contains(f)) throw WapiError.proto("Unknown argument/field: '" + f + "'");
            out.add(f);
        }
        return List.copyOf(out);
    }
}
