# Sourced by the scripts that need a Debian package on a fresh machine (CI).
#
# debian_install WHO PACKAGE CHECK...: unless CHECK succeeds, installs PACKAGE with apt-get (as
# root; otherwise says why not and fails), then runs CHECK again.
debian_install() {
    local who=$1 package=$2
    shift 2
    if "$@" > /dev/null 2>&1; then return 0; fi
    if [ "$(id -u)" != 0 ]; then
        echo "$who: Debian's $package is not installed, and not root to install it" >&2
        return 1
    fi
    echo "$who: installing Debian's $package package" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq > /dev/null
    apt-get install -y -qq --no-install-recommends "$package" > /dev/null
    "$@" > /dev/null
}
