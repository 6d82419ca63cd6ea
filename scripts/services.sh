# Sourced by try-local and the benchmarks: starts moto (the local AWS emulator) and a local
# registry standing in for ECR's (Debian's docker-registry, htpasswd basic auth with the password
# moto's ECR token carries), each on a free 127.0.0.1 port, stopped when the script exits.
# Sets AWS_* for the emulator, REGISTRY (host:port) and WORK (a folder removed at exit).
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (echo > "/dev/tcp/127.0.0.1/$1") 2>/dev/null && return; sleep 0.1; done; }

WORK="$(mktemp -d)"
moto_port="$(free_port)"
moto_server -H 127.0.0.1 -p "$moto_port" >/dev/null 2>&1 &
moto_pid=$!
reg_port="$(free_port)"
printf '123456789012-auth-token' | htpasswd -iBc "$WORK/htpasswd" AWS 2>/dev/null
cat > "$WORK/registry.yml" <<YAML
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $WORK/registry}}
http: {addr: 127.0.0.1:$reg_port}
auth: {htpasswd: {realm: replatform-local, path: $WORK/htpasswd}}
YAML
docker-registry serve "$WORK/registry.yml" >/dev/null 2>&1 &
reg_pid=$!
trap 'kill "$moto_pid" "$reg_pid" 2>/dev/null || true; rm -rf "$WORK"' EXIT
wait_port "$moto_port"
wait_port "$reg_port"
REGISTRY="127.0.0.1:$reg_port"

# The emulator, with throwaway credentials; the binary is the same one that runs against AWS.
export AWS_ENDPOINT_URL="http://127.0.0.1:$moto_port" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
  AWS_REGION=eu-west-1 AWS_MAX_ATTEMPTS=1 AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null

# The examples build FROM python:3.12-slim. Where that cannot be pulled, a local Python base
# stands in for it (scripts/local-base: Debian bookworm's Python 3.11 with the examples'
# requirements already installed, since a build here cannot reach PyPI either). Prints the
# build_args line to add under `image:`, or nothing.
base_image_arg() {
  if docker image inspect python:3.12-slim >/dev/null 2>&1 || docker pull -q python:3.12-slim >/dev/null 2>&1; then
    return
  fi
  echo "python:3.12-slim cannot be pulled on this machine: the example builds on a local base instead (scripts/local-base)" >&2
  echo "  build_args: {BASE_IMAGE: $("$ROOT/scripts/local-base")}"
}

# Copies an example to DIR, pushing to the local registry (and on the local base if needed).
local_example() {
  local example="$1" dir="$2" base_arg="$3"
  cp -r "$ROOT/examples/$example" "$dir"
  {
    sed -n '1,/^image:/p' "$dir/replatform.yaml"
    echo "  registry: $REGISTRY      # the local registry stands in for ECR's"
    [ -z "$base_arg" ] || echo "$base_arg"
    sed '1,/^image:/d' "$dir/replatform.yaml"
  } > "$dir/replatform.yaml.new"
  mv "$dir/replatform.yaml.new" "$dir/replatform.yaml"
}
