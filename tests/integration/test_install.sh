#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# `cmake --install` into a DESTDIR with the Debian prefix /usr: binaries, the
# provider module, units, sysusers.d/tmpfiles.d entries, the example
# configuration and the man pages land where Debian expects them; then
#  - systemd-analyze verify accepts the installed units, with ExecStart= and
#    Documentation= resolved against the installed tree (the binary must
#    exist and be executable, the man pages must exist);
#  - systemd-sysusers and systemd-tmpfiles apply the entries to a scratch
#    root: user hsmca, its directories with the right owner and mode;
#  - the example configuration is one the installed hsmcad accepts (it
#    stops later, at the PIN credential only systemd provides).
# env: HSMCA_BUILD_DIR (set by CMake)
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/token.sh"
need_env HSMCA_BUILD_DIR
need_tool cmake systemd-analyze systemd-sysusers systemd-tmpfiles man
W=$(workdir install)
D=$W/dest
DESTDIR=$D cmake --install "$HSMCA_BUILD_DIR" --prefix /usr >"$W/install.log" 2>&1 ||
    { show "$W/install.log"; die "cmake --install failed"; }
for f in usr/sbin/hsmcad usr/bin/hsmca usr/lib/ossl-modules/hsmca.so \
    usr/lib/systemd/system/hsmcad.service usr/lib/systemd/system/hsmcad.socket \
    usr/lib/sysusers.d/hsmca.conf usr/lib/tmpfiles.d/hsmca.conf \
    usr/share/doc/hsmca/examples/hsmcad.conf.example usr/share/doc/hsmca/operations.md \
    usr/share/man/man8/hsmcad.8 usr/share/man/man1/hsmca.1 usr/share/man/man5/hsmcad.conf.5; do
    [ -f "$D/$f" ] || { find "$D" -type f >&2; die "not installed: /$f"; }
done
[ -x "$D/usr/sbin/hsmcad" ] && [ -x "$D/usr/bin/hsmca" ] || die "installed programs are not executable"
if find "$D" -name '*fault*' | grep -q .; then die "the test-only fault module was installed"; fi
pass "cmake --install: programs, provider, units, sysusers/tmpfiles, example config, man pages in place"

# the man pages render without warnings
for m in man8/hsmcad.8 man1/hsmca.1 man5/hsmcad.conf.5; do
    LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$D/usr/share/man/$m" >/dev/null 2>"$W/man.err"
    [ ! -s "$W/man.err" ] || { show "$W/man.err"; die "man $m has warnings"; }
done

# verify: the installed units, with the installed binary's path prefixed by
# DESTDIR (systemd-analyze checks ExecStart= is executable) and man pages
# looked up in DESTDIR (it runs `man` for each Documentation=man: entry)
U=$W/units
mkdir -p "$U"
exec_path=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$D/usr/lib/systemd/system/hsmcad.service")
[ "$exec_path" = /usr/sbin/hsmcad ] || die "installed ExecStart= names $exec_path, not /usr/sbin/hsmcad"
for u in hsmcad.service hsmcad.socket; do
    sed "s|^ExecStart=/usr/sbin/|ExecStart=$D/usr/sbin/|" "$D/usr/lib/systemd/system/$u" >"$U/$u"
done
(cd "$U" && MANPATH=$D/usr/share/man systemd-analyze verify --man=yes hsmcad.service hsmcad.socket) \
    >"$W/verify" 2>&1 || { show "$W/verify"; die "systemd-analyze verify rejected the installed units"; }
[ ! -s "$W/verify" ] || { show "$W/verify"; die "systemd-analyze verify warned about the installed units"; }
# and it does fail on a broken unit (the check is not a no-op)
sed 's/^ExecStart=.*/ExecStart=\/nonexistent\/hsmcad/' "$U/hsmcad.service" >"$U/broken.service"
if (cd "$U" && systemd-analyze verify --man=no broken.service) >/dev/null 2>&1; then
    die "systemd-analyze verify accepted a unit whose binary does not exist"
fi
pass "systemd-analyze verify: installed hsmcad.service and hsmcad.socket clean (binary and man pages resolved)"

# sysusers + tmpfiles on a scratch root
R=$W/root
mkdir -p "$R/etc"
systemd-sysusers --root="$R" "$D/usr/lib/sysusers.d/hsmca.conf" >"$W/sysusers" 2>&1 ||
    { show "$W/sysusers"; die "systemd-sysusers"; }
uid=$(awk -F: '$1 == "hsmca" { print $3 }' "$R/etc/passwd")
gid=$(awk -F: '$1 == "hsmca" { print $3 }' "$R/etc/group")
[ -n "$uid" ] && [ -n "$gid" ] || die "sysusers made no hsmca user/group"
awk -F: '$1 == "hsmca" && $7 ~ /nologin/' "$R/etc/passwd" | grep -q . || die "hsmca has a login shell"
systemd-tmpfiles --root="$R" --create "$D/usr/lib/tmpfiles.d/hsmca.conf" >"$W/tmpfiles" 2>&1 ||
    { show "$W/tmpfiles"; die "systemd-tmpfiles"; }
check_dir() {
    [ "$(stat -c '%a %u:%g' "$R$1")" = "$2" ] || die "$1: $(stat -c '%a %u:%g' "$R$1"), expected $2"
}
check_dir /var/lib/hsmca "700 $uid:$gid"
check_dir /var/log/hsmca "700 $uid:$gid"
check_dir /etc/hsmca "750 0:$gid"
check_dir /etc/credstore "700 0:0"
pass "sysusers.d makes user hsmca (no shell); tmpfiles.d makes its directories 0700 hsmca, /etc/hsmca 0750 root:hsmca"

# the example configuration parses: hsmcad gets past it and stops at the
# token's PIN credential, which only the unit's LoadCredential= provides
set +e
env -u CREDENTIALS_DIRECTORY "$D/usr/sbin/hsmcad" -config "$D/usr/share/doc/hsmca/examples/hsmcad.conf.example" \
    >"$W/example.log" 2>&1
rc=$?
set -e
grep -q "PIN credential 'hsmca-pin' requested but .CREDENTIALS_DIRECTORY is not set" "$W/example.log" ||
    { show "$W/example.log"; die "the installed hsmcad did not get past the example configuration (exit $rc)"; }
pass "the example configuration is accepted; hsmcad then asks for the hsmca-pin credential (exit $rc)"
