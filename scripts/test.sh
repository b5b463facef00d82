#!/usr/bin/env bash
# Sets up and builds (scripts/setup.sh), then runs every test: lit (IR,
# passes, evaluator vs numpy, CPU backend), GoogleTest, pytest (the Python
# package), the generated-docs
# check, then the same lit and GoogleTest suites under ASan + UBSan
# (build-san/) and a bounded fuzz run of each libFuzzer target.
# Ends with one summary line: "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh || { echo "0 passed, 1 failed, 0 skipped"; exit 1; }

passed=0 failed=0 skipped=0
log=$(mktemp)

echo "== lit (test/)"
python3 /usr/lib/llvm-22/bin/lit -sv build/test 2>&1 | tee "$log"
count() { grep -E "^ +$1 *: +[0-9]+" "$log" | sed -E "s/.*: +([0-9]+).*/\1/" | tail -1; }
lp=$(count Passed); lf=$(count Failed); lu=$(count Unsupported)
lxf=$(count "Unexpectedly Passed"); lxp=$(count "Expectedly Failed")
passed=$((passed + ${lp:-0} + ${lxp:-0}))
failed=$((failed + ${lf:-0} + ${lxf:-0}))
skipped=$((skipped + ${lu:-0}))
[ -z "$lp$lf" ] && failed=$((failed + 1)) # lit itself did not run

echo "== GoogleTest (build/bin/QuantXformTests)"
build/bin/QuantXformTests 2>&1 | tee "$log"
gp=$(grep -E '^\[  PASSED  \] [0-9]+ test' "$log" | awk '{print $4}')
gf=$(grep -E '^\[  FAILED  \] [0-9]+ test' "$log" | awk '{print $4}')
passed=$((passed + ${gp:-0}))
failed=$((failed + ${gf:-0}))
[ -z "$gp$gf" ] && failed=$((failed + 1)) # the binary crashed

echo "== pytest (python/tests: the quant_xform package)"
PYTHONPATH=build/python_packages python3 -m pytest -q -p no:cacheprovider python/tests 2>&1 | tee "$log"
pyc() { grep -E "^(=+ )?[0-9]+ (passed|failed|skipped|errors?)" "$log" | tail -1 |
        grep -oE "[0-9]+ $1" | grep -oE "[0-9]+"; }
pp=$(pyc passed); pf=$(pyc failed); ps=$(pyc skipped); pe=$(pyc "errors?")
passed=$((passed + ${pp:-0})); failed=$((failed + ${pf:-0} + ${pe:-0}))
skipped=$((skipped + ${ps:-0}))
[ -z "$pp$pf$pe" ] && failed=$((failed + 1)) # pytest itself did not run

echo "== generated docs are up to date (docs/generated vs build/docs)"
if scripts/update-docs.sh --check; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
fi

echo "== sanitizers: ASan + UBSan build of the tools and tests (build-san/)"
# LLVM's inline allocator headers poison memory in our instrumented code
# that the (uninstrumented) libMLIR then uses: user poisoning is off.
export ASAN_OPTIONS=allow_user_poisoning=0:detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1
if scripts/build-sanitized.sh; then
  echo "== lit under ASan + UBSan"
  python3 /usr/lib/llvm-22/bin/lit -s build-san/test 2>&1 | tee "$log"
  lp=$(count Passed); lf=$(count Failed); lu=$(count Unsupported)
  passed=$((passed + ${lp:-0})); failed=$((failed + ${lf:-0}))
  skipped=$((skipped + ${lu:-0}))
  [ -z "$lp$lf" ] && failed=$((failed + 1))
  echo "== GoogleTest under ASan + UBSan"
  build-san/bin/QuantXformTests 2>&1 | tail -3 | tee "$log"
  gp=$(grep -E '^\[  PASSED  \] [0-9]+ test' "$log" | awk '{print $4}')
  gf=$(grep -E '^\[  FAILED  \] [0-9]+ test' "$log" | awk '{print $4}')
  passed=$((passed + ${gp:-0})); failed=$((failed + ${gf:-0}))
  [ -z "$gp$gf" ] && failed=$((failed + 1))
  echo "== fuzzing (bounded: ${FUZZ_SECONDS:-20} s per target; corpus in fuzz/corpus)"
  for target in ir npy safetensors stats; do
    work=$(mktemp -d)
    cp fuzz/corpus/$target/* "$work"/
    if build-san/bin/${target}_fuzzer -max_total_time="${FUZZ_SECONDS:-20}" \
        -timeout=20 -rss_limit_mb=4096 -artifact_prefix=build-san/fuzz-$target- \
        "$work" > "$log" 2>&1; then
      echo "fuzz $target: no finding ($(grep -c '' "$log") log lines)"
      passed=$((passed + 1))
    else
      tail -30 "$log"
      echo "fuzz $target: FINDING (artifact in build-san/fuzz-$target-*)"
      failed=$((failed + 1))
    fi
    rm -rf "$work"
  done
else
  echo "sanitized build failed"
  failed=$((failed + 1))
fi

rm -f "$log"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
