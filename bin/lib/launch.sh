# Sourced by the infoblox-cni launchers (not by the plugin, which has its own start-up-tuned
# wrapper). Sets $java and $jar for module $1, from the source tree or an installed layout:
#   source tree: <root>/<module>/target/<module>.jar   (after mvn package)
#   installed:   <root>/lib/infoblox-cni/<module>.jar  (bin/install-host)
# Java: $INFOBLOX_CNI_JAVA, else Temurin 25 under /usr/lib/jvm, else $JAVA_HOME/bin/java, else java.
#   Installed, INFOBLOX_CNI_JAVA may also be set in /etc/default/infoblox-cni.
# $launch_module is set by the caller (POSIX sh passes no arguments to ".")
launch_self=$(readlink -f -- "$0")
launch_root=$(dirname -- "$(dirname -- "$launch_self")")
if [ -f "$launch_root/$launch_module/target/$launch_module.jar" ]; then
    jar=$launch_root/$launch_module/target/$launch_module.jar
elif [ -f "$launch_root/lib/infoblox-cni/$launch_module.jar" ]; then
    jar=$launch_root/lib/infoblox-cni/$launch_module.jar
else
    echo "${0##*/}: $launch_module.jar not found; build with: ./mvnw -B -q package -DskipTests (JDK 25)" >&2
    exit 1
fi
# installed layout: INFOBLOX_CNI_JAVA may come from /etc/default/infoblox-cni (see that helper;
# launchers copied without it, as some tests do, go without)
launch_defaults=$(dirname -- "$launch_self")/lib/host-defaults.sh
[ ! -r "$launch_defaults" ] || . "$launch_defaults"
if [ -n "$INFOBLOX_CNI_JAVA" ]; then
    java=$INFOBLOX_CNI_JAVA
elif [ -x /usr/lib/jvm/temurin-25-jdk-amd64/bin/java ]; then
    java=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java
elif [ -n "$JAVA_HOME" ] && [ -x "$JAVA_HOME/bin/java" ]; then
    java=$JAVA_HOME/bin/java
else
    java=java
fi
