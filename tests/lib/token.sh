# SPDX-License-Identifier: Apache-2.0
# Sourced by integration tests: creates a throwaway SoftHSM2 token with its own
# configuration and token directory (never the machine's default store) and
# exports what hsmca-testtool and the provider need to find it; plus the small
# assertion helpers every test script shares.
#
#   . tests/lib/token.sh
#   token_create "$WORKDIR" mylabel      # sets SOFTHSM2_CONF, HSMCA_TEST_*
#
# The PIN lives in a 0600 file; only its path is exported.

SOFTHSM_MODULE=${SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}

die() {
    echo "FAIL: $*" >&2
    exit 1
}

pass() {
    echo "ok: $*"
}

# Prints a file indented, so that a failure shows what a tool actually said.
show() {
    [ -f "$1" ] && sed 's/^/    | /' "$1" >&2
    return 0
}

# need_env VAR...: the test was started with these set (by CMake).
need_env() {
    for _v in "$@"; do
        eval "_val=\${$_v:-}"
        [ -n "$_val" ] || die "environment variable $_v is not set (run the test through ctest)"
    done
}

# need_tool CMD...: the commands exist.
need_tool() {
    for _t in "$@"; do
        command -v "$_t" >/dev/null 2>&1 || die "$_t is not installed (scripts/install-deps.sh)"
    done
}

# workdir NAME: a fresh directory for this test's token and files, under
# $HSMCA_TEST_WORKDIR when ctest sets it (the build tree), else /tmp.
workdir() {
    _w=${HSMCA_TEST_WORKDIR:-${TMPDIR:-/tmp}/hsmca-$1.$$}
    rm -rf "$_w"
    mkdir -p "$_w"
    echo "$_w"
}

token_create() {
    _dir=$1
    _label=${2:-hsmca-test}
    rm -rf "$_dir"
    mkdir -p "$_dir/tokens"
    cat >"$_dir/softhsm2.conf" <<CONF
directories.tokendir = $_dir/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
CONF
    SOFTHSM2_CONF="$_dir/softhsm2.conf"
    export SOFTHSM2_CONF
    ( umask 077; printf '%s' "$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" >"$_dir/user.pin" )
    ( umask 077; printf '%s' "$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" >"$_dir/so.pin" )
    # softhsm2-util only takes PINs as arguments; this is a test token whose
    # PINs are random and die with the test directory.
    softhsm2-util --init-token --free --label "$_label" \
        --so-pin "$(cat "$_dir/so.pin")" --pin "$(cat "$_dir/user.pin")" >/dev/null ||
        die "softhsm2-util could not create token $_label"
    HSMCA_TEST_MODULE=$SOFTHSM_MODULE
    HSMCA_TEST_TOKEN=$_label
    HSMCA_TEST_PIN_FILE=$_dir/user.pin
    export HSMCA_TEST_MODULE HSMCA_TEST_TOKEN HSMCA_TEST_PIN_FILE
}

# pkcs11-tool with the test token's PIN (test use only).
p11tool() {
    pkcs11-tool --module "$SOFTHSM_MODULE" --token-label "$HSMCA_TEST_TOKEN" "$@"
}

p11tool_login() {
    pkcs11-tool --module "$SOFTHSM_MODULE" --token-label "$HSMCA_TEST_TOKEN" \
        --login --pin "$(cat "$HSMCA_TEST_PIN_FILE")" "$@"
}

# p11_objects FILE: every object of the test token (logged in), one
# "<class>|<label>|<id>" line each, sorted: the token's contents in a form
# that two snapshots can be compared by.
p11_objects() {
    p11tool_login --list-objects 2>/dev/null | awk '
        / Object; / { if (cls != "") print cls "|" label "|" id; cls = $0; sub(/ Object;.*/, "", cls); label = ""; id = "" }
        /^  label:/ { label = $0; sub(/^  label: */, "", label) }
        /^  ID:/ { id = $2 }
        END { if (cls != "") print cls "|" label "|" id }' | sort >"$1"
}

# p11_block LISTING "Private Key" LABEL: the lines pkcs11-tool printed for
# that object (header line included).
p11_block() {
    awk -v cls="$2 Object;" -v want="$3" '
        / Object; / { if (inb && lab == want) { printf "%s", blk; found = 1; exit }
                      inb = index($0, cls) == 1; blk = ""; lab = "" }
        inb { blk = blk $0 "\n" }
        inb && /^  label:/ { lab = $0; sub(/^  label: */, "", lab) }
        END { if (!found && inb && lab == want) printf "%s", blk }' "$1"
}

# expect_fail LOG CMD...: runs CMD (output to LOG), which must fail cleanly:
# a non-zero exit that is not a signal (>= 128) — a crash is not an error
# message.
expect_fail() {
    _log=$1
    shift
    set +e
    "$@" >"$_log" 2>&1
    _rc=$?
    set -e
    if [ "$_rc" -eq 0 ]; then
        show "$_log"
        die "expected failure, but succeeded: $*"
    fi
    if [ "$_rc" -ge 128 ]; then
        show "$_log"
        die "crashed (exit $_rc, signal $((_rc - 128))): $*"
    fi
    # In sanitizer builds a leak or UB report on an error path also makes a
    # non-zero exit; it must not pass for the expected refusal.
    if grep -Eq "ERROR: (Address|Leak|Thread)Sanitizer|runtime error:|WARNING: ThreadSanitizer" "$_log"; then
        show "$_log"
        die "sanitizer report on an error path: $*"
    fi
    return 0
}

# expect_grep FILE ERE WHAT: FILE matches the extended regex (case-insensitive).
expect_grep() {
    if ! grep -Eqi -- "$2" "$1"; then
        show "$1"
        die "$3: output does not match /$2/"
    fi
}

# expect_no_grep FILE ERE WHAT
expect_no_grep() {
    if grep -Eqi -- "$2" "$1"; then
        show "$1"
        die "$3: output unexpectedly matches /$2/"
    fi
}

# field LINE NAME: the value of NAME=value in a "k=v k=v" line.
field() {
    printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}
