#!/bin/sh
# Start-up measurement of bin/infoblox: VERSION (no daemon) and ADD against a fake daemon, with the
# AOT cache (default after `mvn install`), with an AppCDS dynamic archive, and with neither (the
# JDK's default CDS archive only). Needs hyperfine (apt-get install -y hyperfine) and a built
# module (mvn -pl plugin install). Usage: plugin/bench/startup.sh [runs]
set -eu
runs=${1:-40}
here=$(cd "$(dirname "$0")" && pwd -P)
repo=$(cd "$here/../.." && pwd -P)
java=${INFOBLOX_CNI_JAVA:-/usr/lib/jvm/temurin-25-jdk-amd64/bin/java}
jar=$repo/plugin/target/plugin.jar
if [ ! -f "$jar" ] || [ ! -f "$repo/plugin/target/plugin.aot" ]; then
    echo "build first: mvn -pl plugin install" >&2
    exit 1
fi
command -v hyperfine >/dev/null || { echo "needs hyperfine" >&2; exit 1; }

work=$(mktemp -d)
daemon_pid=
cleanup() { [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT INT TERM

mkdir -p "$work/none" "$work/appcds" "$work/sock"
cp "$jar" "$work/none/plugin.jar"
cp "$jar" "$work/appcds/plugin.jar"
"$java" -Xlog:disable -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData \
    -XX:ArchiveClassesAtExit="$work/appcds/plugin.jsa" -cp "$work/appcds/plugin.jar" infobloxcni.plugin.Train
"$java" -cp "$repo/plugin/target/test-classes:$repo/plugin/target/classes" infobloxcni.plugin.FakeDaemon \
    "$work/sock/infoblox.sock" 2>/dev/null &
daemon_pid=$!
i=0; while [ ! -S "$work/sock/infoblox.sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done

printf '{"cniVersion":"1.1.0"}' > "$work/version.json"
printf '{"cniVersion":"1.1.0","name":"n","type":"bridge","ipam":{"type":"infoblox","socket-dir":"%s"}}' \
    "$work/sock" > "$work/add.json"
export CNI_CONTAINERID=c1 CNI_NETNS=/var/run/netns/c1 CNI_IFNAME=eth0 CNI_PATH=/opt/cni/bin
CNI_COMMAND=ADD "$repo/bin/infoblox" < "$work/add.json" | grep -q 10.0.0.2 || { echo "ADD failed" >&2; exit 1; }

w=$repo/bin/infoblox
none="INFOBLOX_CNI_PLUGIN_JAR=$work/none/plugin.jar"
cds="INFOBLOX_CNI_PLUGIN_JAR=$work/appcds/plugin.jar INFOBLOX_CNI_JAVA_OPTS=-XX:SharedArchiveFile=$work/appcds/plugin.jsa"
hyperfine -S sh --warmup 3 --runs "$runs" --export-json "$work/result.json" \
    -n 'VERSION, AOT cache' "CNI_COMMAND=VERSION $w < $work/version.json" \
    -n 'VERSION, AppCDS' "CNI_COMMAND=VERSION $cds $w < $work/version.json" \
    -n 'VERSION, no archive' "CNI_COMMAND=VERSION $none $w < $work/version.json" \
    -n 'ADD, AOT cache' "CNI_COMMAND=ADD $w < $work/add.json" \
    -n 'ADD, AppCDS' "CNI_COMMAND=ADD $cds $w < $work/add.json" \
    -n 'ADD, no archive' "CNI_COMMAND=ADD $none $w < $work/add.json" >&2
python3 - "$work/result.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print("%-22s %9s %9s %9s %9s" % ("case", "median ms", "min ms", "user ms", "sys ms"))
for r in d["results"]:
    print("%-22s %9.1f %9.1f %9.1f %9.1f" % (r["command"], r["median"] * 1e3, r["min"] * 1e3,
                                           r["user"] * 1e3, r["system"] * 1e3))
PY
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
