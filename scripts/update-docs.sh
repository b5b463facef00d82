#!/usr/bin/env bash
# Copies the op/attribute/interface/pass/pipeline references that the build generates
# from ODS (build/docs) into docs/generated. With --check, only reports
# (and fails) when docs/generated differs from what the build generated.
set -euo pipefail
cd "$(dirname "$0")/.."
gen=(Dialects/QuantXformDialect.md Dialects/QuantXformCPUDialect.md
     Interfaces/QuantXformInterfaces.md
     Passes/QuantXformPasses.md Pipelines/QuantXformPipelines.md
     Conversion/QuantXformConversionPasses.md)
status=0
for f in "${gen[@]}"; do
  src=build/docs/$f
  dst=docs/generated/$(basename "$f")
  if [ ! -f "$src" ]; then
    echo "missing $src: build first (ninja -C build)"; exit 1
  fi
  if [ "${1:-}" = "--check" ]; then
    if ! cmp -s "$src" "$dst"; then
      echo "docs/generated/$(basename "$f") is stale: run scripts/update-docs.sh"
      status=1
    fi
  else
    mkdir -p docs/generated
    cp "$src" "$dst"
  fi
done
[ "${1:-}" = "--check" ] && [ $status -eq 0 ] && echo "generated docs are up to date"
exit $status
