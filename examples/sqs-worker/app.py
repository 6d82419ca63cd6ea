"""SQS worker that polls its queue: the seed article's worker (docs/seed-article.md), completed.

The same image runs on both platforms without a code change:
- ECS: `python app.py` polls forever (the `__main__` block below).
- Lambda: `python -m awslambdaric app.handler`, invoked by a schedule; each invocation
  polls until the queue is empty or the invocation is nearly out of time.
"""

import hashlib
import logging
import os
import signal
import threading

import boto3

QUEUE_URL = os.environ.get("SQS_QUEUE_URL", "")
MAX_NUM_MSGS = int(os.environ.get("SQS_MAX_NUM_MSGS", "10"))
VISIBILITY_TO = int(os.environ.get("SQS_VISIBILITY_TO", "30"))
WAIT_SECONDS = int(os.environ.get("SQS_WAIT_SECONDS", "10"))

# A receive can block for WAIT_SECONDS and its batch must then be handled within
# VISIBILITY_TO, so only start a poll with at least that much invocation time left.
SAFETY_MARGIN_MS = (WAIT_SECONDS + VISIBILITY_TO) * 1000

# On ECS nothing has configured logging yet, so basicConfig sets the format. On Lambda the
# runtime interface client has already installed its own handler (basicConfig is then a
# no-op) but leaves the root logger at WARNING, hence the level on our own logger.
logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s %(message)s")
log = logging.getLogger("sqs-worker")
log.setLevel(os.environ.get("LOG_LEVEL", "INFO"))

# Created once: Lambda reuses it across warm invocations. botocore reads only
# AWS_DEFAULT_REGION, while Lambda and ECS both set AWS_REGION.
sqs_client = boto3.client(
    "sqs", region_name=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
)


def process(body: str) -> None:
    """Do the work for one message (here: fingerprint it)."""
    # A body of exactly "poison" fails on purpose, to demonstrate the failure path: the
    # message is not deleted, reappears after its visibility timeout and, after the queue's
    # max_receive_count attempts, moves to the dead-letter queue.
    if body == "poison":
        raise ValueError("poison message")
    data = body.encode()
    log.info("processed %d bytes, sha256 %s", len(data), hashlib.sha256(data).hexdigest())


def poll_once(sqs) -> int:
    """Receive one batch, process it, delete what succeeded. Returns the number received."""
    response = sqs.receive_message(
        QueueUrl=QUEUE_URL,
        MaxNumberOfMessages=MAX_NUM_MSGS,
        VisibilityTimeout=VISIBILITY_TO,
        WaitTimeSeconds=WAIT_SECONDS,
    )
    messages = response.get("Messages", [])
    done = []
    for i, msg in enumerate(messages):
        try:
            process(msg["Body"])
        except Exception:
            # Not deleting it is the retry: SQS redelivers it, then dead-letters it.
            log.exception("message %s failed; leaving it on the queue", msg["MessageId"])
            continue
        done.append({"Id": str(i), "ReceiptHandle": msg["ReceiptHandle"]})
    if done:
        result = sqs.delete_message_batch(QueueUrl=QUEUE_URL, Entries=done)
        # A failed delete is not fatal: the message comes back and is processed again,
        # so process() should tolerate duplicates (SQS is at-least-once anyway).
        for failed in result.get("Failed", []):
            log.warning("delete failed for entry %s: %s", failed["Id"], failed.get("Message"))
    log.info("received %d, deleted %d", len(messages), len(done))
    return len(messages)


def handler(event, context):
    """Lambda entry point under a schedule trigger: the event carries no messages, it is
    only the signal to go and poll, exactly as the ECS loop does."""
    total = 0
    if context.get_remaining_time_in_millis() < SAFETY_MARGIN_MS:
        log.warning(
            "function timeout is below SQS_WAIT_SECONDS + SQS_VISIBILITY_TO (%d ms); not polling",
            SAFETY_MARGIN_MS,
        )
    while context.get_remaining_time_in_millis() >= SAFETY_MARGIN_MS:
        received = poll_once(sqs_client)
        total += received
        if received == 0:
            break
    return {"received": total}


def run_forever(sqs) -> None:
    """The ECS worker: poll until asked to stop."""
    stop = threading.Event()

    def request_stop(signum, _frame):
        # ECS sends SIGTERM on scale-in and deploys, then SIGKILL after the stop timeout
        # (30 s by default). Finishing the batch in hand leaves no message half-processed.
        log.info("%s received; stopping after the current batch", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    log.info("polling %s", QUEUE_URL)
    # A receive error (network, permissions) ends the process on purpose: ECS replaces the task.
    while not stop.is_set():
        poll_once(sqs)


if __name__ == "__main__":
    run_forever(sqs_client)
