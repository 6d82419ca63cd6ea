# Sourced by scripts/test: everything scripts/tools.sh installs for trying replatform, and what
# only the full test suite needs on top (docs/testing.md):
# - checkov, in a venv of its own (scripts/requirements-checkov.txt): it pins boto3 and
#   packaging, which conflict with the tools above. Exported as CHECKOV.
# - cfn-guard 3 from crates.io, which runs AWS's Guard Rules Registry over the rendered templates
#   (tests/guard-rules). It compiles from source (about 8 minutes on 2 cores), so it goes into a
#   folder named for its version under the tools cache and is built once per machine. Exported as
#   CFN_GUARD.
# - Debian packages: Buildah and a static busybox (the image tests' second builder and their
#   FROM-scratch images), Chromium (looks at `compare`'s chart), zsh and fish (whose `-n` checks
#   the completion scripts; bash is already there).
# Safe to source repeatedly.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/tools.sh"

CHECKOV_VENV="$(venv_for checkov "$ROOT/scripts/requirements-checkov.txt")"
export CHECKOV="$CHECKOV_VENV/bin/checkov"

apt_need buildah busybox-static chromium zsh fish

CFN_GUARD_VERSION="3.2.1"
CFN_GUARD_ROOT="$TOOLS/cfn-guard-$CFN_GUARD_VERSION"
if ! "$CFN_GUARD_ROOT/bin/cfn-guard" --version 2>/dev/null | grep -qF " $CFN_GUARD_VERSION"; then
  echo "scripts: building cfn-guard $CFN_GUARD_VERSION from crates.io into $CFN_GUARD_ROOT (about 8 minutes, once per machine)" >&2
  cargo install --quiet --locked cfn-guard --version "=$CFN_GUARD_VERSION" --root "$CFN_GUARD_ROOT" >&2
fi
export CFN_GUARD="$CFN_GUARD_ROOT/bin/cfn-guard"
