#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The Debian package (cpack -G DEB): built from this tree, its control data
# (shared-library dependencies found by dpkg-shlibdeps, systemd), then
# installed with the real dpkg into a scratch root (--root with
# --force-script-chrootless: the maintainer scripts run with DPKG_ROOT, so
# they must honour it): the postinst makes user hsmca and its directories;
# a purge removes the files and keeps the CA's state directory.
# env: HSMCA_BUILD_DIR
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/token.sh"
need_env HSMCA_BUILD_DIR
need_tool cpack dpkg dpkg-deb dpkg-shlibdeps systemd-sysusers systemd-tmpfiles
W=$(workdir package)
(cd "$HSMCA_BUILD_DIR" && cpack -G DEB -B "$W/out") >"$W/cpack.log" 2>&1 || { show "$W/cpack.log"; die "cpack -G DEB"; }
deb=$(ls "$W"/out/hsmca_*.deb)
dpkg-deb -I "$deb" >"$W/info"
for dep in 'systemd' 'libssl3' 'libmicrohttpd12' 'libsqlite3-0' 'libc6'; do
    grep '^ Depends:' "$W/info" | grep -q "$dep" || { show "$W/info"; die "the package does not depend on $dep"; }
done
dpkg-deb -c "$deb" >"$W/contents"
for f in ./usr/sbin/hsmcad ./usr/bin/hsmca ./usr/lib/systemd/system/hsmcad.service ./usr/lib/sysusers.d/hsmca.conf \
    ./usr/share/man/man8/hsmcad.8; do
    grep -q " $f\$" "$W/contents" || { show "$W/contents"; die "$f is not in the package"; }
done
pass "cpack -G DEB: $(basename "$deb"), dependencies from dpkg-shlibdeps, units and man pages inside"

R=$W/root
mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates" "$R/var/lib/dpkg/triggers" "$R/etc"
: >"$R/var/lib/dpkg/status"
# the scratch root has none of the dependencies: --force-depends
dpkg --root="$R" --log=/dev/null --force-not-root --force-script-chrootless --force-depends -i "$deb" \
    >"$W/install.log" 2>&1 || { show "$W/install.log"; die "dpkg -i into a scratch root failed"; }
grep -q '^hsmca:' "$R/etc/passwd" || die "postinst made no hsmca user"
uid=$(awk -F: '$1 == "hsmca" { print $3 }' "$R/etc/passwd")
[ "$(stat -c '%a %u' "$R/var/lib/hsmca")" = "700 $uid" ] || die "postinst: /var/lib/hsmca is $(stat -c '%a %u' "$R/var/lib/hsmca")"
[ -x "$R/usr/sbin/hsmcad" ] || die "hsmcad not installed"
echo "state" >"$R/var/lib/hsmca/hsmca.db"
dpkg --root="$R" --log=/dev/null --force-not-root --force-script-chrootless --force-depends -P hsmca \
    >"$W/purge.log" 2>&1 || { show "$W/purge.log"; die "dpkg -P failed"; }
[ ! -e "$R/usr/sbin/hsmcad" ] || die "purge left /usr/sbin/hsmcad"
[ -f "$R/var/lib/hsmca/hsmca.db" ] || die "purge deleted the CA database"
pass "dpkg installs it cleanly (postinst: user hsmca, 0700 state dir); purge removes it and keeps the database"
