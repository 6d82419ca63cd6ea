# Sourced by try-local and the benchmarks: what trying replatform needs, installed once per
# machine and put first on PATH. The Python tools (cfn-lint, moto, pytest; scripts/requirements.txt)
# go into a venv, and the Debian packages the local registry and image steps use (docker-registry,
# apache2-utils for htpasswd) come from apt. The full test suite needs more: scripts/test-tools.sh.
# Safe to source repeatedly.
#
# Where tools go: a cache outside the checkout ($REPLATFORM_TOOLS, by default
# ~/.cache/replatform-tools), keyed by the pinned versions, so that a fresh clone on the same
# machine (CI runs in one) reuses what an earlier run installed; a new machine installs it all.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="${REPLATFORM_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/replatform-tools}"
mkdir -p "$TOOLS"

# venv_for NAME REQUIREMENTS: a venv under $TOOLS named for NAME and the requirements' hash,
# made and filled once. Prints its path.
venv_for() {
  local name="$1" req="$2" dir
  dir="$TOOLS/$name-$(sha256sum "$req" | cut -c1-12)"
  if [ ! -f "$dir/.complete" ]; then
    echo "scripts: installing $(grep -v '^#' "$req" | tr '\n' ' ')into $dir" >&2
    rm -rf "$dir"
    python3 -m venv "$dir"
    "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
    "$dir/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" >&2
    touch "$dir/.complete"
  fi
  echo "$dir"
}

# apt_need PACKAGE...: installs the Debian packages not installed yet.
apt_need() {
  local missing=() pkg sudo=""
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "scripts: installing ${missing[*]} (Debian packages)" >&2
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

VENV="$(venv_for venv "$ROOT/scripts/requirements.txt")"
export PATH="$VENV/bin:$PATH"
export CFN_LINT="$VENV/bin/cfn-lint"
export MOTO_SERVER="$VENV/bin/moto_server"
export MOTO_PYTHON="$VENV/bin/python"

# The local registry standing in for ECR's, and htpasswd for its basic auth. The Docker engine
# itself comes with the machine.
apt_need docker-registry apache2-utils
