#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# ctest bench.run_all_smoke: bench/run-all --smoke (seconds) must run every
# step, pass every check and print every row, so the one benchmark command
# cannot rot. No figure is judged: the smoke run's numbers mean nothing.
#
#   bench/test_run_all.sh BUILD_DIR WORK_DIR
set -eu
build=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$out"
mkdir -p "$out"
if ! "$here/run-all" --smoke --build "$build" --out "$out" >"$out/stdout" 2>"$out/stderr"; then
    sed 's/^/    | /' "$out/stderr" "$out/stdout" >&2
    echo "FAIL: bench/run-all --smoke exited non-zero" >&2
    exit 1
fi
table=$out/table.md
[ -s "$table" ] || { echo "FAIL: no table.md" >&2; exit 1; }
# Every row of the issue's list, with a value (not "-") in the value column.
for id in B1 B2 B3 B4 B5 B6 B7 B8 B9; do
    n=$(awk -F' [|] ' -v id="$id" '$1 == "| " id && $5 != "-"' "$table" | wc -l)
    [ "$n" -gt 0 ] || { cat "$table" >&2; echo "FAIL: no measured $id row in the table" >&2; exit 1; }
done
# The context rows need libengine-pkcs11-openssl and GnuTLS's certtool.
for id in C1 C2; do
    grep -q "^| $id | " "$table" || { cat "$table" >&2; echo "FAIL: no $id row" >&2; exit 1; }
done
# B1 is its own reference; B2 must have a ratio.
grep -Eq '^\| B1 \| raw C_Sign \| P-256 \| 1 \| [0-9]+\*? \| /s \| 1\.00 \|' "$table" ||
    { cat "$table" >&2; echo "FAIL: B1 P-256 row has no ratio 1.00" >&2; exit 1; }
grep -Eq '^\| B2 \| .* \| P-256 \| 1 \| [0-9]+\*? \| /s \| [0-9]+\.[0-9]+ \|' "$table" ||
    { cat "$table" >&2; echo "FAIL: B2 P-256 row has no ratio to B1" >&2; exit 1; }
grep -q "every step passed its checks" "$table" || { cat "$table" >&2; echo "FAIL: a step failed" >&2; exit 1; }
echo "ok: bench/run-all --smoke printed every row ($(grep -c '^| [BC][0-9]' "$table") rows)"
