# Sourced by the other scripts: installs the Python tools the project runs (cfn-lint, moto,
# pytest) into .tools/venv once and puts them first on PATH, and checkov into a venv of its own,
# .tools/checkov-venv (exported as CHECKOV). Safe to source repeatedly.
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

# checkov in a venv of its own: it pins boto3 and packaging, which conflict with the tools above.
CHECKOV_VENV="$ROOT/.tools/checkov-venv"
if ! cmp -s "$ROOT/scripts/requirements-checkov.txt" "$CHECKOV_VENV/.requirements" 2>/dev/null; then
  echo "scripts: installing $(grep -v '^#' "$ROOT/scripts/requirements-checkov.txt" | tr '\n' ' ')into $CHECKOV_VENV" >&2
  python3 -m venv "$CHECKOV_VENV"
  "$CHECKOV_VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
  "$CHECKOV_VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$ROOT/scripts/requirements-checkov.txt" >&2
  cp "$ROOT/scripts/requirements-checkov.txt" "$CHECKOV_VENV/.requirements"
fi
export CHECKOV="$CHECKOV_VENV/bin/checkov"

# The image tests' system tools, from Debian's packages: a registry (docker-registry), Buildah,
# a static busybox for FROM-scratch images, htpasswd (apache2-utils); and Chromium, which the
# experiment test uses to look at `compare`'s chart; zsh and fish, whose `-n` checks the
# completion scripts (bash is already there). The Docker engine itself comes with the machine.
missing=()
for pkg in docker-registry buildah busybox-static apache2-utils chromium zsh fish; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "scripts: installing ${missing[*]} (Debian packages)" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# cfn-guard 3 (crates.io), which runs AWS's Guard Rules Registry over the rendered templates
# (tests/guard-rules, issue 14). It compiles from source (minutes), so it goes into a folder named
# for its version and is built once per machine; later runs reuse it. Exported as CFN_GUARD.
CFN_GUARD_VERSION="3.2.1"
CFN_GUARD_ROOT="$ROOT/.tools/cfn-guard-$CFN_GUARD_VERSION"
if ! "$CFN_GUARD_ROOT/bin/cfn-guard" --version 2>/dev/null | grep -qF " $CFN_GUARD_VERSION"; then
  echo "scripts: building cfn-guard $CFN_GUARD_VERSION from crates.io into $CFN_GUARD_ROOT (a few minutes, once)" >&2
  cargo install --quiet --locked cfn-guard --version "=$CFN_GUARD_VERSION" --root "$CFN_GUARD_ROOT" >&2
fi
export CFN_GUARD="$CFN_GUARD_ROOT/bin/cfn-guard"
