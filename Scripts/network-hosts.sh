#!/usr/bin/env bash
# Several "hosts" on one machine for the cluster tests: network namespaces, each joined to this
# machine's own namespace by a veth pair of its own. Needs root and iproute2 (`ip`).
#
#   Scripts/network-hosts.sh install              installs iproute2 if `ip` is absent (with apt-get:
#                                                 needs root)
#   Scripts/network-hosts.sh create PREFIX COUNT [PID]
#       makes namespaces PREFIX1 .. PREFIXCOUNT; pair i has the address 10.A.B.(4i-3)/30 on this
#       machine's side (interface PREFIXiH) and 10.A.B.(4i-2)/30 in the namespace (PREFIXiN), A.B
#       derived from PREFIX's checksum; prints a line "NAMESPACE OUTSIDE_ADDRESS INSIDE_ADDRESS
#       NETWORK" per host (NETWORK: the /16 that holds them all). With PID, they are removed once
#       that process is gone (a test run that crashed leaves nothing behind).
#   Scripts/network-hosts.sh cut NAMESPACE        takes its link down (`ip link set ... down`)
#   Scripts/network-hosts.sh restore NAMESPACE    brings it back up
#   Scripts/network-hosts.sh remove PREFIX COUNT  deletes the namespaces (and their pairs)
#
# Interface names are at most 15 bytes: PREFIX is at most 10.
set -euo pipefail
# shellcheck source=debian-package.sh
source "$(dirname "$0")/debian-package.sh"

octets() {
    local sum
    sum=$(printf '%s' "$1" | cksum | cut -d' ' -f1)
    echo "$((100 + sum % 150)) $(((sum / 150) % 250))"
}

create() {
    local prefix=$1 count=$2 watch=${3:-} a b i
    read -r a b < <(octets "$prefix")
    remove "$prefix" "$count" 2> /dev/null || true
    for i in $(seq 1 "$count"); do
        local ns=$prefix$i outside=10.$a.$b.$((4 * i - 3)) inside=10.$a.$b.$((4 * i - 2))
        ip netns add "$ns"
        ip link add "${ns}H" type veth peer name "${ns}N"
        ip link set "${ns}N" netns "$ns"
        ip addr add "$outside/30" dev "${ns}H"
        ip link set "${ns}H" up
        ip -n "$ns" addr add "$inside/30" dev "${ns}N"
        ip -n "$ns" link set "${ns}N" up
        ip -n "$ns" link set lo up
        echo "$ns $outside $inside 10.$a.0.0/16"
    done
    if [ -n "$watch" ]; then
        setsid bash -c "while [ -r /proc/$watch/status ] && ! grep -q '^State:[[:space:]]*Z' /proc/$watch/status 2> /dev/null; do sleep 1; done; '$0' remove '$prefix' '$count'" \
            < /dev/null > /dev/null 2>&1 &
    fi
}

remove() {
    local prefix=$1 count=$2 i
    for i in $(seq 1 "$count"); do
        ip netns del "$prefix$i" 2> /dev/null || true
        ip link del "$prefix${i}H" 2> /dev/null || true
    done
}

install() { debian_install network-hosts iproute2 command -v ip; }

# Descriptors beyond 0-2 that the caller let this script inherit are not its to keep: a server
# or watcher started here would hold them for its whole life, and a caller's pipe held open
# that way can make whoever waits for its end of file wait forever (seen: ThreadSanitizer's
# symbolizer pipe, kept open by a test's server, held `swift test` after the tests had ended).
for inherited in /proc/$$/fd/*; do
    inherited=${inherited##*/}
    case $inherited in 0|1|2|255|*[!0-9]*) ;; *) eval "exec $inherited>&-" 2> /dev/null || true ;; esac
done

case "${1:-}" in
    install) install ;;
    create) create "${2:?create PREFIX COUNT [PID]}" "${3:?create PREFIX COUNT [PID]}" "${4:-}" ;;
    cut) ip link set "${2:?cut NAMESPACE}H" down ;;
    restore) ip link set "${2:?restore NAMESPACE}H" up ;;
    remove) remove "${2:?remove PREFIX COUNT}" "${3:?remove PREFIX COUNT}" ;;
    *) echo "usage: $0 install | create PREFIX COUNT [PID] | cut NAMESPACE | restore NAMESPACE | remove PREFIX COUNT" >&2; exit 2 ;;
esac
