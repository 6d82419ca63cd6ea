"""The worker of scripts/bench-bridge: a batch at a time, in lockstep with the driver
(scripts/bench-bridge-runtime.py), so that only the worker's own SQS calls are timed.

For each batch it asks the driver's control endpoint (BENCH_CONTROL, outside the timed window)
whether to go, then times ReceiveMessage (MaxNumberOfMessages=10) + DeleteMessageBatch of what it
received, and posts the time back. The same code runs under the supervisor (QUEUE_URL is then
rewritten to the supervisor's local URL, and AWS_ENDPOINT_URL_SQS points at it) and straight
against moto. BENCH_CLIENT says how it calls SQS:
  boto3  the boto3 client a real worker uses (signing, serializing and parsing included)
  raw    the same two calls in the AWS JSON 1.0 protocol over one keep-alive http.client
         connection, with a fixed Authorization header: little but the server's own time
"""

import json
import os
import socket
import sys
import time
import urllib.parse
import urllib.request

url = os.environ["QUEUE_URL"]
control = "http://%s/bench" % os.environ["BENCH_CONTROL"]
# No proxy between the worker and the driver, whatever the environment says.
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def ask(path, body=None):
    data = None if body is None else json.dumps(body).encode()
    with opener.open(urllib.request.Request(control + path, data=data), timeout=600) as res:
        return json.loads(res.read() or b"null")


if os.environ["BENCH_CLIENT"] == "boto3":
    import boto3

    sqs = boto3.client("sqs", region_name=os.environ["AWS_REGION"])

    def receive():
        return sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                   AttributeNames=["All"], MessageAttributeNames=["All"])

    def delete(entries):
        return sqs.delete_message_batch(QueueUrl=url, Entries=entries)

else:
    import http.client

    endpoint = urllib.parse.urlsplit(os.environ["AWS_ENDPOINT_URL_SQS"])
    conn = http.client.HTTPConnection(endpoint.hostname, endpoint.port, timeout=60)
    auth = ("AWS4-HMAC-SHA256 Credential=%s/20260101/%s/sqs/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=%s"
            % (os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_REGION"], "0" * 64))

    def call(operation, body):
        if conn.sock is None:  # a server that closes after each answer (moto's HTTP/1.0)
            conn.connect()
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.request("POST", "/", json.dumps(body).encode(), {
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "AmazonSQS." + operation,
            "X-Amz-Date": time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()),
            "Authorization": auth,
        })
        res = conn.getresponse()
        payload = res.read()
        if res.status != 200:
            sys.exit("worker: %s answered %d: %s" % (operation, res.status, payload[:300]))
        return json.loads(payload)

    def receive():
        return call("ReceiveMessage", {"QueueUrl": url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 1,
                                       "AttributeNames": ["All"], "MessageAttributeNames": ["All"]})

    def delete(entries):
        return call("DeleteMessageBatch", {"QueueUrl": url, "Entries": entries})


while True:
    if ask("/go") != "go":
        sys.exit(0)
    start = time.perf_counter()
    messages = receive().get("Messages", [])
    failed = []
    if messages:
        d = delete([{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)])
        failed = d.get("Failed", [])
    end = time.perf_counter()
    ask("/done", {"ms": (end - start) * 1000, "received": len(messages), "failed": len(failed)})
