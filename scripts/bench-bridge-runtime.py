"""The measuring half of scripts/bench-bridge (run by it, with the venv's Python that has boto3):
fake Lambda Runtime APIs (the shapes of bridge/tests/e2e.rs's FakeRuntime, on http.server) that
feed the supervisor SQS events, the driver of the workers (scripts/bench-bridge-worker.py), and
the tables.

  1. per batch: ReceiveMessage (MaxNumberOfMessages=10) + DeleteMessageBatch, timed inside the
     worker, on four sides that take turns batch by batch: a boto3 worker and a raw-HTTP one,
     each straight to moto and under a supervisor of its own (which answers both calls itself,
     on loopback, and calls nothing). Before each timed batch the driver gets its 10 messages
     ready (an event handed to the supervisor, or SendMessageBatch to moto), waits SETTLE_S,
     then lets the worker go; after it, checks all 10 were received and deleted and, under the
     supervisor, that the invocation's response has no batchItemFailures. So no side's time
     holds the setup, the Runtime API round trip or another side's work.
  2. the binaries' size, and as a registry layer costs it: a tar of the one file, gzip'd
     (level 6, Docker's and Buildah's default).
  3. the supervisor's start: from just before it is spawned to its first request, which must be
     GET /2018-06-01/runtime/invocation/next (the worker it starts is `sleep`, so only the
     supervisor's own start is measured).

Usage: bench-bridge-runtime.py --bridge BIN [--arm64 BIN] --moto URL --python PY --batches N --starts N
"""

import argparse
import hashlib
import io
import json
import math
import os
import queue
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3

HERE = Path(__file__).resolve().parent
ACCOUNT = "123456789012"
REGION = "us-east-1"
QUEUE = "bench"
# The consumed queue as Lambda names it; the supervisor answers its receives and deletes itself.
REAL_URL = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{QUEUE}"
SETTLE_S = 0.005
WARMUP = 10
TARGET_BATCH_MS, TARGET_LAYER_MB, TARGET_START_MS = 5, 5, 50


class State:
    """What one fake Runtime API (and control endpoint of one worker) has seen and will hand out."""

    def __init__(self):
        self.events = queue.Queue()      # (request id, event) for GET .../invocation/next
        self.handed = queue.Queue()      # request ids handed out
        self.posted = queue.Queue()      # (path after /runtime/, body) of the supervisor's POSTs
        self.first = queue.Queue()       # (path, monotonic time) of every request
        self.go = queue.Queue()          # "go" or "stop", for the worker's GET /bench/go
        self.done = queue.Queue()        # the worker's POST /bench/done


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without this, Nagle's algorithm and the client's
    # delayed ACK would hold the body back for tens of ms.
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def do_GET(self):
        state = self.server.state
        state.first.put((self.path, time.monotonic()))
        try:
            if self.path == "/2018-06-01/runtime/invocation/next":
                item = state.events.get()  # waits, as Lambda does, for an event
                if item is None:
                    self.reply(500)
                    return
                rid, event = item
                deadline_ms = int((time.time() + 60) * 1000)
                self.reply(200, json.dumps(event).encode(), [
                    ("Lambda-Runtime-Aws-Request-Id", rid),
                    ("Lambda-Runtime-Deadline-Ms", str(deadline_ms)),
                    ("Lambda-Runtime-Invoked-Function-Arn", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:worker"),
                    ("Content-Type", "application/json"),
                ])
                state.handed.put(rid)
            elif self.path == "/bench/go":
                self.reply(200, json.dumps(state.go.get()).encode())
            else:
                self.reply(404)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_POST(self):
        state = self.server.state
        state.first.put((self.path, time.monotonic()))
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            value = json.loads(body) if body else None
        except ValueError:
            value = body.decode(errors="replace")
        if self.path == "/bench/done":
            state.done.put(value)
            self.reply(200, b"null")
        else:
            state.posted.put((self.path.removeprefix("/2018-06-01/runtime/"), value))
            self.reply(202, b"{}")


def serve():
    """A fake Runtime API on a free loopback port: (its host:port, its state)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.state = State()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return "127.0.0.1:%d" % server.server_address[1], server.state


def md5(s):
    return hashlib.md5(s.encode()).hexdigest()


def sqs_event(n):
    """An SQS event of n records (Lambda developer guide, "Using Lambda with Amazon SQS")."""
    records = []
    for i in range(n):
        body = json.dumps({"order": i, "note": "x" * 200})
        mid = str(uuid.uuid4())
        records.append({
            "messageId": mid,
            "receiptHandle": f"AQEB{mid}handle+/=",
            "body": body,
            "attributes": {
                "ApproximateReceiveCount": "1",
                "SentTimestamp": str(int(time.time() * 1000)),
                "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                "ApproximateFirstReceiveTimestamp": str(int(time.time() * 1000)),
            },
            "messageAttributes": {"kind": {"stringValue": "bench", "stringListValues": [],
                                           "binaryListValues": [], "dataType": "String"}},
            "md5OfBody": md5(body),
            "eventSource": "aws:sqs",
            "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{QUEUE}",
            "awsRegion": REGION,
        })
    return {"Records": records}


def pct(values, p):
    """Nearest-rank percentile."""
    s = sorted(values)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


def get(q, what, timeout=60):
    try:
        return q.get(timeout=timeout)
    except queue.Empty:
        sys.exit(f"bench-bridge: no {what} within {timeout} s")


def drain(q):
    while True:
        try:
            q.get_nowait()
        except queue.Empty:
            return


def base_env():
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "REPLATFORM_BRIDGE_")) and k not in ("HTTP_PROXY", "http_proxy")}
    env.update({
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_MAX_ATTEMPTS": "1",
        "NO_PROXY": "127.0.0.1",
        "no_proxy": "127.0.0.1",
    })
    return env


def supervisor_env(runtime_api, moto):
    env = base_env()
    env.update({
        "AWS_LAMBDA_RUNTIME_API": runtime_api,
        "REPLATFORM_BRIDGE_QUEUE_URL": REAL_URL,
        # Anything it forwarded would go to moto; receive and delete of the batch are not.
        "AWS_ENDPOINT_URL_SQS": moto,
    })
    return env


def stop_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


class Side:
    """One worker (BENCH_CLIENT boto3 or raw), straight to moto or under a supervisor of its own."""

    def __init__(self, args, work, client, supervised, moto_url):
        self.client, self.supervised, self.moto_url = client, supervised, moto_url
        self.name = f"{client} {'supervisor' if supervised else 'moto'}"
        self.runtime_api, self.state = serve()
        worker = [args.python, str(HERE / "bench-bridge-worker.py")]
        if supervised:
            env = supervisor_env(self.runtime_api, args.moto)
            env["QUEUE_URL"] = REAL_URL
            argv = [args.bridge, "--", *worker]
        else:
            env = base_env()
            env.update({"AWS_ENDPOINT_URL_SQS": args.moto, "QUEUE_URL": moto_url})
            argv = worker
        env.update({"BENCH_CONTROL": self.runtime_api, "BENCH_CLIENT": client})
        self.log_path = work / f"{client}-{'supervisor' if supervised else 'moto'}.log"
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(argv, env=env, process_group=0, stdout=self.log, stderr=subprocess.STDOUT)
        self.times = []
        self.cpu_start = None

    def cpu_ms(self):
        """CPU time (user + system, all threads) the process spawned has used so far: the
        supervisor, not its worker, when supervised."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")

    def fail(self, msg):
        sys.exit(f"bench-bridge: {self.name}: {msg}\nits log (end):\n{self.log_path.read_text()[-2000:]}")

    def batch(self, moto_sqs):
        """Gets 10 messages ready, lets the worker go; its receive + delete time, in ms."""
        st = self.state
        if self.supervised:
            rid = str(uuid.uuid4())
            st.events.put((rid, sqs_event(10)))
            if get(st.handed, f"{self.name}: GET .../invocation/next") != rid:
                self.fail("the event handed out is not the one given")
        else:
            moto_sqs.send_message_batch(QueueUrl=self.moto_url, Entries=[
                {"Id": str(j), "MessageBody": json.dumps({"order": j, "note": "x" * 200}),
                 "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "bench"}}}
                for j in range(10)])
        time.sleep(SETTLE_S)
        st.go.put("go")
        done = get(st.done, f"{self.name}: the batch done")
        if done["received"] != 10 or done["failed"]:
            self.fail(f"received {done['received']} of 10, {done['failed']} deletes failed")
        if self.supervised:
            path, body = get(st.posted, f"{self.name}: the invocation's response")
            if path != f"invocation/{rid}/response" or body != {"batchItemFailures": []}:
                self.fail(f"expected invocation/{rid}/response with no failures, got {path} {body}")
        return done["ms"]

    def stop(self):
        self.state.go.put("stop")
        stop_group(self.proc)
        self.state.events.put(None)  # the supervisor's last GET .../next
        self.log.close()


def measure_batches(args, work):
    """Receive + delete of 10 on every side, the sides taking turns batch by batch."""
    moto_sqs = boto3.client("sqs", region_name=REGION, endpoint_url=args.moto,
                            aws_access_key_id="testing", aws_secret_access_key="testing")
    moto_url = moto_sqs.create_queue(QueueName=QUEUE, Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
    sides = [Side(args, work, client, supervised, moto_url)
             for client in ("boto3", "raw") for supervised in (False, True)]
    try:
        for i in range(WARMUP + args.batches):
            if i == WARMUP:
                for side in sides:
                    side.cpu_start = side.cpu_ms()
            # Each side goes first, second, third and fourth in turn.
            for side in sides[i % 4:] + sides[:i % 4]:
                ms = side.batch(moto_sqs)
                if i >= WARMUP:
                    side.times.append(ms)
        cpu = {s.client: (s.cpu_ms() - s.cpu_start) / args.batches for s in sides if s.supervised}
    finally:
        for side in sides:
            side.stop()
    return {(s.client, s.supervised): s.times for s in sides}, cpu


def measure_starts(args):
    """From just before the supervisor is spawned to its first request to the Runtime API."""
    runtime_api, state = serve()
    env = supervisor_env(runtime_api, args.moto)
    starts = []
    for _ in range(args.starts):
        drain(state.first)
        with tempfile.TemporaryFile() as log:
            t0 = time.monotonic()
            proc = subprocess.Popen([args.bridge, "--", "sleep", "600"], env=env, process_group=0,
                                    stdout=log, stderr=subprocess.STDOUT)
            path, t1 = get(state.first, "first request of the supervisor", timeout=10)
            stop_group(proc)
            state.events.put(None)  # lets the fake runtime's waiting GET go
            if path != "/2018-06-01/runtime/invocation/next":
                log.seek(0)
                sys.exit(f"bench-bridge: the supervisor's first request was {path}: {log.read()[-2000:]}")
        starts.append((t1 - t0) * 1000)
    return starts


def layer(binary):
    """Size of the binary, and of a registry layer holding only it (tar, gzip level 6)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=6) as tar:
        tar.add(binary, arcname="opt/replatform-bridge")
    return os.path.getsize(binary), len(buf.getvalue())


def verdict(ok):
    return "PASS" if ok else "MISS"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bridge", required=True)
    p.add_argument("--arm64")
    p.add_argument("--moto", required=True)
    p.add_argument("--python", required=True)
    p.add_argument("--batches", type=int, default=500)
    p.add_argument("--starts", type=int, default=100)
    args = p.parse_args()

    desc = subprocess.run(["file", "-b", args.bridge], capture_output=True, text=True).stdout.strip()
    print(f"supervisor: {args.bridge}\n  ({desc.split(', BuildID')[0]})")
    # Other work on the machine shows in the p99s: the load average before and after says how much.
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    starts = measure_starts(args)
    with tempfile.TemporaryDirectory() as tmp:
        times, cpu = measure_batches(args, Path(tmp))
    print(f"measured in {time.monotonic() - started:.0f} s; load average (1 min) "
          f"{load_before:.2f} before, {os.getloadavg()[0]:.2f} after, on {os.cpu_count()} cores\n")

    n = args.batches
    print(f"1. Receive + delete of 10 messages (ReceiveMessage MaxNumberOfMessages=10, then "
          f"DeleteMessageBatch), {n} batches a side after {WARMUP} not counted, the sides taking turns:\n")
    print("| worker's client | straight to moto p50 | p99 | through the supervisor p50 | p99 "
          "| difference p50 | p99 |\n|---|---|---|---|---|---|---|")
    for client, label in (("boto3", "boto3"), ("raw", "raw HTTP (JSON 1.0, keep-alive)")):
        d, b = times[(client, False)], times[(client, True)]
        d50, d99, b50, b99 = statistics.median(d), pct(d, 99), statistics.median(b), pct(b, 99)
        print(f"| {label} | {d50:.2f} ms | {d99:.2f} ms | {b50:.2f} ms | {b99:.2f} ms "
              f"| {b50 - d50:+.2f} ms | {b99 - d99:+.2f} ms |")
    print(f"\nThe supervisor's own CPU time a batch (its answers to the receive and the delete, and "
          f"its Runtime API calls: GET .../next, POST .../response), from /proc: "
          f"{cpu['boto3']:.2f} ms under the boto3 worker, {cpu['raw']:.2f} ms under the raw one.")
    # The supervisor calls nothing for a receive or a delete of its batch, so all it adds is
    # inside its answer: the raw client's whole time through it bounds the supervisor's cost.
    raw99 = pct(times[("raw", True)], 99)
    boto_diff99 = pct(times[("boto3", True)], 99) - pct(times[("boto3", False)], 99)
    print(f"\ntarget: the supervisor adds under {TARGET_BATCH_MS} ms a batch at p99: "
          f"{verdict(raw99 < TARGET_BATCH_MS and boto_diff99 < TARGET_BATCH_MS)} "
          f"(its whole answer to a raw client, {raw99:.2f} ms at p99; boto3 through it against "
          f"boto3 to moto, {boto_diff99:+.2f} ms at p99)\n")

    print("2. The layer it adds:\n")
    print("| binary | size | as a layer (tar, gzip -6) |\n|---|---|---|")
    small = True
    for arch, path in (("amd64", args.bridge), ("arm64", args.arm64)):
        if not path or not Path(path).exists():
            continue
        size, gz = layer(path)
        print(f"| {arch} | {size / 1e6:.2f} MB ({size} bytes) | {gz / 1e6:.2f} MB ({gz} bytes) |")
        small &= size < TARGET_LAYER_MB * 1e6
    print(f"\ntarget: under {TARGET_LAYER_MB} MB (10^6 bytes), even uncompressed: {verdict(small)}\n")

    print(f"3. Start: from spawn to the first GET /2018-06-01/runtime/invocation/next "
          f"(the worker: `sleep`):\n")
    print("| starts | median | p99 | slowest |\n|---|---|---|---|")
    print(f"| {len(starts)} | {statistics.median(starts):.2f} ms | {pct(starts, 99):.2f} ms | {max(starts):.2f} ms |")
    print(f"\ntarget: under {TARGET_START_MS} ms at p99: {verdict(pct(starts, 99) < TARGET_START_MS)}")


if __name__ == "__main__":
    main()
