# Sourced by the launchers (bin/infoblox, bin/lib/launch.sh) once $jar is found, before java is
# picked. In an installed layout (the .deb, the tarball, bin/install-host: $jar under
# .../lib/infoblox-cni/), an INFOBLOX_CNI_JAVA that the environment does not set is taken from
# /etc/default/infoblox-cni: a CNI runtime execs the plugin with its own environment, which the
# operator does not control, so the host's choice of java has to live in a file. A source tree
# ignores the file, so that a checkout runs the same whatever is installed on the machine.
# Only a line INFOBLOX_CNI_JAVA=... is read (the last one wins), with no fork, and the file is
# never run as shell code: nothing in it can print on the plugin's stdout, which is CNI JSON only.
# shellcheck shell=sh disable=SC2154 # $jar is set by the launcher that sources this
case $jar in
    */lib/infoblox-cni/*)
        if [ -z "${INFOBLOX_CNI_JAVA:-}" ] && [ -r /etc/default/infoblox-cni ]; then
            while IFS= read -r host_defaults_line || [ -n "$host_defaults_line" ]; do
                case $host_defaults_line in
                    INFOBLOX_CNI_JAVA=*)
                        INFOBLOX_CNI_JAVA=${host_defaults_line#INFOBLOX_CNI_JAVA=}
                        # one pair of quotes around the value, as a shell assignment may have
                        case $INFOBLOX_CNI_JAVA in
                            \"*\") INFOBLOX_CNI_JAVA=${INFOBLOX_CNI_JAVA#\"}; INFOBLOX_CNI_JAVA=${INFOBLOX_CNI_JAVA%\"} ;;
                            \'*\') INFOBLOX_CNI_JAVA=${INFOBLOX_CNI_JAVA#\'}; INFOBLOX_CNI_JAVA=${INFOBLOX_CNI_JAVA%\'} ;;
                        esac ;;
                esac
            done < /etc/default/infoblox-cni
        fi ;;
esac
