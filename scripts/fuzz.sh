#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Builds the libFuzzer targets (clang, ASan + UBSan, build/fuzz) and runs
# each for a bounded time; any crash, leak, sanitizer report, timeout or
# broken invariant fails the run and leaves the input under
# build/fuzz/crashes/. docs/fuzzing.md has the details.
#   scripts/fuzz.sh                      # every target, 60 s each
#   FUZZ_SECONDS=3600 scripts/fuzz.sh    # the long run (hours in all)
#   FUZZ_SECONDS=20 FUZZ_JOBS=2 scripts/fuzz.sh   # what scripts/test.sh runs
#   scripts/fuzz.sh pem_import api_roles # some targets
#   scripts/fuzz.sh --coverage [targets] # line coverage of each target's
#                                        # decoder files over its corpus
# Targets that need the token get a throwaway SoftHSM2 token each
# (tests/lib/token.sh), never the machine's token store.
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)

ALL_TARGETS="p11_uri transcript ocsp_request role_json csr_policy daemon_config cert_match pem_import
api_roles api_issue api_config api_revoke api_tidy api_sys api_auth_cert"

# The files each target is there to exercise: what --coverage reports.
decoders() {
    case $1 in
    p11_uri) echo hsm/p11/uri.c ;;
    transcript) echo src/ca/transcript.c ;;
    ocsp_request) echo src/revocation/ocsp.c src/revocation/ocsp_issuers.c ;;
    role_json) echo src/ca/role.c ;;
    csr_policy) echo src/ca/policy.c src/ca/policy_names.c ;;
    daemon_config) echo src/daemon/config.c ;;
    cert_match) echo src/auth/cert_match.c ;;
    pem_import) echo src/ca/import.c ;;
    api_roles) echo src/api/openbao/pki_roles.c src/api/openbao/fields.c src/ca/role.c ;;
    api_issue) echo src/api/openbao/pki_issue.c src/ca/sign.c src/ca/policy.c ;;
    api_config) echo src/api/openbao/pki_config.c src/api/openbao/pki_crl.c src/api/openbao/pki_tidy.c src/revocation/crl_config.c src/revocation/tidy_config.c src/revocation/ocsp_config.c ;;
    api_revoke) echo src/api/openbao/pki_revoke.c src/revocation/revoke.c ;;
    api_tidy) echo src/api/openbao/pki_tidy.c src/revocation/tidy.c ;;
    api_sys) echo src/api/openbao/sys.c src/api/openbao/sys_auth.c src/auth/policy.c ;;
    api_auth_cert) echo src/api/openbao/auth_cert.c ;;
    esac
}

# Longest input per target: bodies that carry a PEM bundle or CSR need room.
max_len() {
    case $1 in
    pem_import) echo 16384 ;;
    api_* | cert_match) echo 8192 ;;
    *) echo 4200 ;;
    esac
}

needs_token() {
    case $1 in
    pem_import | api_*) return 0 ;;
    *) return 1 ;;
    esac
}

coverage=0
if [ "${1:-}" = "--coverage" ]; then
    coverage=1
    shift
fi
TARGETS=${*:-$ALL_TARGETS}
SECONDS_PER=${FUZZ_SECONDS:-60}
JOBS=${FUZZ_JOBS:-1}

[ "${HSMCA_SKIP_DEPS:-}" = 1 ] || scripts/install-deps.sh

if [ $coverage = 1 ]; then
    # Source-based coverage (clang's profile instrumentation, no
    # sanitizers): the targets run over their corpora once.
    B=build/fuzz-cov
    cmake -S . -B "$B" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DHSMCA_FUZZ=ON \
        -DHSMCA_BUILD_TESTS=OFF -DHSMCA_BUILD_BENCH=OFF \
        -DCMAKE_C_FLAGS="-fprofile-instr-generate -fcoverage-mapping" \
        -DCMAKE_EXE_LINKER_FLAGS="-fprofile-instr-generate" >/dev/null
else
    B=build/fuzz
    cmake -S . -B "$B" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
        -DHSMCA_SANITIZE=address,undefined -DHSMCA_FUZZ=ON -DHSMCA_BUILD_TESTS=OFF -DHSMCA_BUILD_BENCH=OFF >/dev/null
fi
build_targets=""
for t in $TARGETS; do
    build_targets="$build_targets fuzz_$t"
done
# shellcheck disable=SC2086
cmake --build "$B" -j"$(nproc)" --target $build_targets

mkdir -p "$B/crashes" "$B/logs" "$B/profiles"
# shellcheck source=tests/lib/token.sh
. "$ROOT/tests/lib/token.sh"

# run_one TARGET: fuzzes (or, for coverage, replays) one target; its output
# goes to $B/logs/TARGET.log. The exit status is libFuzzer's.
run_one() {
    t=$1
    # one working corpus per target, grown by every run; --coverage
    # replays it (so it reports what fuzzing reached, not only the seeds)
    corpus=$ROOT/build/fuzz/corpus/$t
    mkdir -p "$corpus"
    [ -d "tests/fuzz/corpus/$t" ] && cp tests/fuzz/corpus/"$t"/* "$corpus/"
    (
        if needs_token "$t"; then
            token_create "$ROOT/$B/token/$t" "hsmca-fuzz-$t" >/dev/null
        fi
        export TMPDIR="$ROOT/$B/tmp/$t"
        rm -rf "$TMPDIR"
        mkdir -p "$TMPDIR"
        # Leaks are judged per input by libFuzzer (memory unreachable
        # after a run). The fast unwinder is kept: the slow one, which
        # lsan.supp's SoftHSM2 frames need, costs a factor of 20 in speed,
        # and a SoftHSM2 allocation it would hide has not shown up here.
        export ASAN_OPTIONS=detect_leaks=1
        export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
        if [ $coverage = 1 ]; then
            export LLVM_PROFILE_FILE="$ROOT/$B/profiles/$t.profraw"
            exec "$B/tests/fuzz/fuzz_$t" -runs=0 -max_len="$(max_len "$t")" "$corpus" "$ROOT/tests/fuzz/corpus/$t"
        fi
        exec "$B/tests/fuzz/fuzz_$t" -max_total_time="$SECONDS_PER" -max_len="$(max_len "$t")" -timeout=20 \
            -rss_limit_mb=3072 -print_final_stats=1 -artifact_prefix="$ROOT/$B/crashes/$t-" "$corpus"
    ) >"$B/logs/$t.log" 2>&1
}

started=$(date +%s)
failed=""
# In batches of FUZZ_JOBS: every target runs for the same fixed time, so a
# batch ends when its targets do.
batch=""
n=0
flush() {
    for p in $batch; do
        wait "${p%%:*}" || failed="$failed ${p#*:}"
    done
    batch=""
    n=0
}
for t in $TARGETS; do
    echo "fuzz: $t ($([ $coverage = 1 ] && echo "corpus replay" || echo "$SECONDS_PER s"))"
    run_one "$t" &
    batch="$batch $!:$t"
    n=$((n + 1))
    [ $n -lt "$JOBS" ] || flush
done
flush

if [ $coverage = 1 ]; then
    echo
    echo "| target | decoder file | lines | line coverage |"
    echo "| --- | --- | --- | --- |"
    for t in $TARGETS; do
        prof="$B/profiles/$t.profraw"
        [ -f "$prof" ] || continue
        llvm-profdata merge -sparse "$prof" -o "$B/profiles/$t.profdata"
        # shellcheck disable=SC2046
        llvm-cov report "$B/tests/fuzz/fuzz_$t" -instr-profile="$B/profiles/$t.profdata" $(decoders "$t") |
            awk -v t="$t" -v files="$(decoders "$t")" -v root="$ROOT/" '
                BEGIN { n = split(files, want, " ") }
                NR > 2 && $1 != "TOTAL" && NF >= 10 && $1 !~ /^-/ {
                    # llvm-cov drops the common prefix of the paths (all of
                    # it for one file): name them from the source root
                    f = $1
                    if (index(f, root) == 1)
                        f = substr(f, length(root) + 1)
                    for (i = 1; i <= n; i++)
                        if (length(want[i]) >= length(f) && substr(want[i], length(want[i]) - length(f) + 1) == f)
                            f = want[i]
                    # columns: Regions Missed Cover Functions Missed Executed Lines Missed Cover ...
                    printf "| %s | %s | %s | %s |\n", t, f, $8, $10 }'
    done
fi

for t in $failed; do
    echo "fuzz: $t FAILED -- $B/logs/$t.log:" >&2
    grep -E 'ERROR|SUMMARY|fuzz_|abort|==[0-9]+==' "$B/logs/$t.log" | head -20 >&2 || tail -20 "$B/logs/$t.log" >&2
    ls "$B"/crashes/"$t"-* 2>/dev/null >&2 || true
done
if [ $coverage = 0 ]; then
    for t in $TARGETS; do
        awk -v t="$t" '/stat::number_of_executed_units/ {n=$2} /stat::peak_rss_mb/ {r=$2}
            END {printf "fuzz: %-14s %8s runs, peak RSS %s MB\n", t, n, r}' "$B/logs/$t.log"
    done
fi
echo "fuzz: $(echo "$TARGETS" | wc -w) targets in $(($(date +%s) - started)) s"
[ -z "$failed" ] || exit 1
