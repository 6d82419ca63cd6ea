"""SQS worker written as a Lambda SQS handler, which also runs as a polling worker on ECS.

- Lambda: an SQS event source mapping receives the messages and passes them in the event;
  `handler` reports the ones that failed (partial batch response) and Lambda deletes the rest.
- ECS: `python app.py` does the event source mapping's job itself: receive, build the same
  event, call `handler`, delete what it did not report as failed.
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

# On ECS nothing has configured logging yet, so basicConfig sets the format. On Lambda the
# runtime interface client has already installed its own handler (basicConfig is then a
# no-op) but leaves the root logger at WARNING, hence the level on our own logger.
logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s %(message)s")
log = logging.getLogger("sqs-event-worker")
log.setLevel(os.environ.get("LOG_LEVEL", "INFO"))

# Only the ECS loop uses it; creating it at import is cheap and keeps one client per process.
# botocore reads only AWS_DEFAULT_REGION, while Lambda and ECS both set AWS_REGION.
sqs_client = boto3.client(
    "sqs", region_name=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
)


def process(body: str) -> None:
    """Do the work for one message (here: fingerprint it)."""
    # A body of exactly "poison" fails on purpose, to demonstrate the failure path: the
    # message is reported as failed, reappears after its visibility timeout and, after the
    # queue's max_receive_count attempts, moves to the dead-letter queue.
    if body == "poison":
        raise ValueError("poison message")
    data = body.encode()
    log.info("processed %d bytes, sha256 %s", len(data), hashlib.sha256(data).hexdigest())


def handler(event, context):
    """Lambda entry point under an SQS trigger."""
    failures = []
    for record in event.get("Records", []):
        try:
            process(record["body"])
        except Exception:
            # Reporting the one record, rather than raising, keeps the rest of the batch
            # from being retried with it (needs ReportBatchItemFailures on the mapping).
            log.exception("message %s failed; reporting it", record["messageId"])
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


def to_event(messages: list) -> dict:
    """ReceiveMessage output in the shape Lambda's SQS event uses."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
            }
            for m in messages
        ]
    }


def poll_once(sqs) -> int:
    """One round of the ECS loop. Returns the number of messages received."""
    response = sqs.receive_message(
        QueueUrl=QUEUE_URL,
        MaxNumberOfMessages=MAX_NUM_MSGS,
        VisibilityTimeout=VISIBILITY_TO,
        WaitTimeSeconds=WAIT_SECONDS,
        MessageSystemAttributeNames=["All"],
    )
    messages = response.get("Messages", [])
    if not messages:
        return 0
    result = handler(to_event(messages), None)
    failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
    done = [
        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
        for i, m in enumerate(messages)
        if m["MessageId"] not in failed
    ]
    if done:
        deleted = sqs.delete_message_batch(QueueUrl=QUEUE_URL, Entries=done)
        # A failed delete is not fatal: the message comes back and is processed again,
        # so process() should tolerate duplicates (SQS is at-least-once anyway).
        for f in deleted.get("Failed", []):
            log.warning("delete failed for entry %s: %s", f["Id"], f.get("Message"))
    log.info("received %d, deleted %d", len(messages), len(done))
    return len(messages)


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
