#!/usr/bin/env bash
# Sets up and builds (scripts/setup.sh), then runs every test: lit (IR,
# passes, evaluator vs numpy), GoogleTest, and the generated-docs check.
# Ends with one summary line: "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh || { echo "0 passed, 1 failed, 0 skipped"; exit 1; }

passed=0 failed=0 skipped=0
log=$(mktemp)

echo "== lit (test/)"
python3 /usr/lib/llvm-22/bin/lit -sv build/test 2>&1 | tee "$log"
count() { grep -E "^ +$1: +[0-9]+" "$log" | awk '{print $2}' | tail -1; }
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

echo "== generated docs are up to date (docs/generated vs build/docs)"
if scripts/update-docs.sh --check; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
fi

rm -f "$log"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
