#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Installs every Debian 12 package hsmca needs to build, run and test (the
# analysis stages too: llvm for llvm-profdata/llvm-cov, valgrind, cppcheck,
# clang-tidy; clang + libclang-rt for libFuzzer and the sanitizers). Idempotent:
# packages already present are left alone and nothing is fetched when none is missing.
set -eu

PACKAGES="
build-essential cmake pkg-config git ca-certificates
gcc clang libclang-rt-14-dev
libssl-dev openssl libssl-doc
libidn2-dev
p11-kit libp11-kit-dev
softhsm2 opensc libengine-pkcs11-openssl
libmicrohttpd-dev libgnutls28-dev libsqlite3-dev sqlite3 libjansson-dev
libcurl4-openssl-dev
libcmocka-dev
gnutls-bin
curl jq
python3 python3-cryptography systemd man-db
llvm valgrind cppcheck clang-tidy
"

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

# The API tests drive the daemon with npm Vault clients. A machine that
# already has Node.js and npm (from Debian or elsewhere) keeps them; one
# without gets Debian's.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    missing="$missing nodejs npm"
fi

if [ -z "$missing" ]; then
    echo "install-deps: all packages present"
    exit 0
fi

echo "install-deps: installing:$missing"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
