"""A polling SQS worker, unchanged for Lambda: boto3 (the JSON protocol) in a receive loop.

What it does with a message depends on its body:
  leave...  handled but not deleted (a failure: it must come back)
  crash...  exits with status 3 in the middle of its batch
  send:X    sends X to OTHER_QUEUE_URL, then deletes the message
  extend    sets its visibility timeout to 0 (ChangeMessageVisibility), then deletes it
  sleep     sleeps past the invocation's deadline
  nap:S     sleeps S seconds, then deletes it
  anything else: deleted
RUN_ONCE=1 makes it handle one receive and exit 0, like a worker run once per start.
Every action is written to HANDLED_LOG, one line each, so a test can count them.
"""

import os
import sys
import time

import boto3

sqs = boto3.client("sqs", region_name=os.environ["AWS_REGION"])
url = os.environ["QUEUE_URL"]
log = open(os.environ["HANDLED_LOG"], "a", buffering=1)

if os.environ.get("CHECK_QUEUE"):
    # Forwarded to SQS with the real URL; the answer names the local one.
    got = sqs.get_queue_url(QueueName=url.rsplit("/", 1)[1])["QueueUrl"]
    log.write("queue-url %s\n" % got)
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    log.write("queue-arn %s\n" % attrs["QueueArn"])

log.write("ready\n")

while True:
    try:
        r = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=5,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
    except Exception as e:  # the supervisor is gone
        print("worker: receive failed: %s" % type(e).__name__, file=sys.stderr)
        sys.exit(0)
    for m in r.get("Messages", []):
        body = m["Body"]
        if body.startswith("crash"):
            log.write("crash %s\n" % m["MessageId"])
            sys.exit(3)
        if body == "sleep":
            log.write("sleep %s\n" % m["MessageId"])
            time.sleep(30)
        if body.startswith("nap:"):
            time.sleep(float(body[4:]))
        if body.startswith("send:"):
            sqs.send_message(QueueUrl=os.environ["OTHER_QUEUE_URL"], MessageBody=body[5:])
        if body == "extend":
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
            log.write("extended %s\n" % m["MessageId"])
        if body.startswith("leave"):
            log.write("left %s\n" % m["MessageId"])
            continue
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        log.write("deleted %s %s\n" % (m["MessageId"], m["Attributes"]["ApproximateReceiveCount"]))
    if os.environ.get("RUN_ONCE") and r.get("Messages"):
        sys.exit(0)
