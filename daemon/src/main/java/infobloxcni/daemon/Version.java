package infobloxcni.daemon;

/** The version the build wrote into the jar's manifest ({@code Implementation-Version}); "dev" when run from classes. */
public final class Version {
    static final String OF_DAEMON = of(Version.class);

    private Version() {}

    /** The version in the manifest of the jar {@code fromJar} was loaded from (recovery asks for its own). */
    public static String of(Class<?> fromJar) {
        String v = fromJar.getPackage() == null ? null : fromJar.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }
}
