# Sourced by the scripts that build (bin/test, bin/infoblox-cni-demo, bin/infoblox-cni-bench):
# chooses a JDK 25 (the machine's default java may be older) and defines `maven`, which runs the
# project's Maven wrapper (./mvnw: the Maven version the build is tested with, downloaded from
# Maven Central on first use and checked against its SHA-256, .mvn/wrapper/maven-wrapper.properties).
# $root is the source tree (set by the caller).
if [ -z "${JAVA_HOME:-}" ] || ! grep -qs 'JAVA_VERSION="2[5-9]' "$JAVA_HOME/release"; then
    JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
fi
[ -x "$JAVA_HOME/bin/java" ] || { echo "${0##*/}: no JDK 25 at $JAVA_HOME; set JAVA_HOME" >&2; exit 1; }
export JAVA_HOME
# Maven's own libraries (jansi, guava) call restricted and Unsafe methods: JDK 25 warns at each build.
export MAVEN_OPTS="${MAVEN_OPTS:-} --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow"
maven() {
    "$root/mvnw" -B "$@"
}
