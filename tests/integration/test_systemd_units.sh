#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The hardening of systemd/hsmcad.service as systemd itself scores it
# (offline: CI has no systemd as PID 1): the issue's gate
# `systemd-analyze security --offline=true --threshold=20` (exposure <= 2.0),
# and the figure recorded in docs/operations.md must be the one measured, so
# a relaxed unit cannot hide behind an old number.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/token.sh"
SRC=$(cd "$HERE/../.." && pwd)
need_tool systemd-analyze
W=$(workdir systemd_units)

set +e
systemd-analyze security --offline=true --threshold=20 "$SRC/systemd/hsmcad.service" >"$W/security" 2>&1
rc=$?
set -e
figure=$(sed -n 's/.*Overall exposure level for hsmcad.service: \([0-9.]*\).*/\1/p' "$W/security")
[ -n "$figure" ] || { show "$W/security"; die "systemd-analyze security printed no exposure level"; }
[ "$rc" -eq 0 ] || { grep '✗' "$W/security" >&2 || true; die "exposure $figure is above the threshold 2.0 (exit $rc)"; }
pass "systemd-analyze security --offline=true --threshold=20: exposure $figure"
grep -q "exposure level .*\*\*$figure\*\*" "$SRC/docs/operations.md" ||
    die "docs/operations.md does not record the measured exposure $figure (update its Hardening section)"
awk -v f="$figure" 'BEGIN { exit !(f < 1.0) }' ||
    { grep '✗' "$W/security" >&2 || true; die "exposure $figure is no longer below 1.0 (SAFE), the unit's goal"; }
pass "exposure $figure < 1.0 (SAFE), as recorded in docs/operations.md"

# Every directive the issue asks for is there (a directive systemd does not
# score, e.g. UMask/LimitCORE/LoadCredential, would otherwise go unnoticed).
for d in 'Type=notify' 'User=hsmca' 'StateDirectory=' 'LogsDirectory=' 'ConfigurationDirectory=' \
    'ProtectSystem=strict' 'ProtectHome=yes' 'PrivateTmp=yes' 'NoNewPrivileges=yes' 'CapabilityBoundingSet=$' \
    'RestrictAddressFamilies=' 'SystemCallFilter=@system-service' 'SystemCallArchitectures=native' \
    'MemoryDenyWriteExecute=yes' 'LockPersonality=yes' 'RestrictNamespaces=yes' 'RestrictRealtime=yes' \
    'ProtectKernelTunables=yes' 'ProtectKernelModules=yes' 'ProtectKernelLogs=yes' 'ProtectControlGroups=yes' \
    'ProtectClock=yes' 'ProtectHostname=yes' 'UMask=0077' 'LimitCORE=0' 'LoadCredential=hsmca-pin:' \
    'WatchdogSec=' 'ExecReload=' '#.*DeviceAllow='; do
    grep -Eq "^$d" "$SRC/systemd/hsmcad.service" || die "hsmcad.service lacks $d"
done
pass "hsmcad.service carries every directive issue #7 lists (DeviceAllow= documented for USB/PCIe HSMs)"

# `systemctl show hsmcad` prints Environment=, ExecStart= and friends: none may
# carry a secret. The PIN only travels as a credential (a file systemd reads).
if grep -Eq '^(Environment|EnvironmentFile|PassEnvironment|SetCredential)=' "$SRC/systemd/hsmcad.service"; then
    die "hsmcad.service sets environment or inline credentials (systemctl show would print them)"
fi
grep '^Exec' "$SRC/systemd/hsmcad.service" | grep -Eqi 'pin|token|secret|password' &&
    die "an Exec line of hsmcad.service mentions a PIN, token or secret"
pass "no Environment=/SetCredential= and no secret on Exec lines: systemctl show carries no secret"
