# Sourced by the other scripts: installs the Python tools the project runs (cfn-lint, moto,
# pytest) into .tools/venv once, and puts them first on PATH. Safe to source repeatedly.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.tools/venv"
STAMP="$VENV/.requirements"

if ! cmp -s "$ROOT/scripts/requirements.txt" "$STAMP" 2>/dev/null; then
  echo "scripts: installing $(grep -v '^#' "$ROOT/scripts/requirements.txt" | tr '\n' ' ')into $VENV" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$ROOT/scripts/requirements.txt" >&2
  cp "$ROOT/scripts/requirements.txt" "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
export CFN_LINT="$VENV/bin/cfn-lint"
export MOTO_SERVER="$VENV/bin/moto_server"
