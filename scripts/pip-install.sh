#!/usr/bin/env bash
# Installs the Python packages named on the command line (pip names; an
# argument "import=pipname" imports `import` to decide) when they cannot be
# imported yet. Works with a plain or an externally managed Python.
set -euo pipefail
missing=()
for spec in "$@"; do
  mod=${spec%%=*}; pkg=${spec#*=}
  mod=${mod//-/_}
  python3 -c "import $mod" >/dev/null 2>&1 || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "== installing Python packages: ${missing[*]}"
python3 -m pip install --quiet "${missing[@]}" 2>/dev/null ||
  python3 -m pip install --quiet --break-system-packages "${missing[@]}"
