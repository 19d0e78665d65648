#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Static checks: cppcheck (also run by ctest as lint.cppcheck) and, with
# --tidy, clang-tidy over the compile database of build/default. Bounded:
# cppcheck takes under a minute, clang-tidy a few minutes on 2 cores.
#   scripts/lint.sh --tidy-only   clang-tidy alone (scripts/test.sh: cppcheck
#                                 already ran there as ctest's lint.cppcheck)
set -eu
cd "$(dirname "$0")/.."
if [ "${1:-}" != "--tidy-only" ]; then
# csr.c builds ASN.1 templates with OpenSSL's asn1t.h macros, which cppcheck
# (not reading system headers) cannot expand: unknownMacro is waived there.
cppcheck --enable=warning,portability,performance --inline-suppr --error-exitcode=1 -q \
    -I include -I /usr/include/p11-kit-1 -D_GNU_SOURCE --std=c11 \
    --suppress=unknownMacro:src/ca/csr.c \
    src hsm/p11 hsm/keyslot hsm/provider hsm/fault
fi
if [ "${1:-}" = "--tidy" ] || [ "${1:-}" = "--tidy-only" ]; then
    [ -f build/default/compile_commands.json ] || cmake --preset default >/dev/null
    find src hsm -name '*.c' -print0 | xargs -0 -n 4 -P "$(nproc)" \
        clang-tidy -p build/default --quiet --extra-arg=-Wno-unknown-warning-option
fi
echo "lint: clean"
