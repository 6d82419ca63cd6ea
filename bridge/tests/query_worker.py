"""A polling SQS worker that speaks the Query protocol (as older SDKs do): form-encoded
`Action=...` POSTs to AWS_ENDPOINT_URL_SQS, XML answers. It deletes its messages with one
DeleteMessageBatch, leaves those whose body starts with "leave", and sends "send:X" bodies' X to
OTHER_QUEUE_URL. Every action is written to HANDLED_LOG.
"""

import os
import sys
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

NS = {"sqs": "http://queue.amazonaws.com/doc/2012-11-05/"}
endpoint = os.environ["AWS_ENDPOINT_URL_SQS"]
url = os.environ["QUEUE_URL"]
log = open(os.environ["HANDLED_LOG"], "a", buffering=1)


def call(params):
    params = dict(params, Version="2012-11-05")
    data = urllib.parse.urlencode(params).encode()
    req = urllib.request.Request(
        endpoint + "/",
        data=data,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    with urllib.request.urlopen(req, timeout=30) as res:
        return ET.fromstring(res.read())


log.write("ready\n")

while True:
    try:
        root = call(
            {
                "Action": "ReceiveMessage",
                "QueueUrl": url,
                "MaxNumberOfMessages": "10",
                "WaitTimeSeconds": "5",
                "AttributeName.1": "All",
            }
        )
    except Exception as e:  # the supervisor is gone
        print("worker: receive failed: %s" % type(e).__name__, file=sys.stderr)
        sys.exit(0)
    entries = {}
    for i, m in enumerate(root.iterfind(".//sqs:Message", NS)):
        mid = m.findtext("sqs:MessageId", namespaces=NS)
        body = m.findtext("sqs:Body", namespaces=NS)
        handle = m.findtext("sqs:ReceiptHandle", namespaces=NS)
        if body.startswith("send:"):
            sent = call({"Action": "SendMessage", "QueueUrl": os.environ["OTHER_QUEUE_URL"], "MessageBody": body[5:]})
            log.write("sent %s\n" % sent.findtext(".//sqs:MessageId", namespaces=NS))
        if body.startswith("leave"):
            log.write("left %s\n" % mid)
            continue
        entries["e%d" % i] = (mid, handle)
    if entries:
        params = {"Action": "DeleteMessageBatch", "QueueUrl": url}
        for n, (eid, (mid, handle)) in enumerate(entries.items(), start=1):
            params["DeleteMessageBatchRequestEntry.%d.Id" % n] = eid
            params["DeleteMessageBatchRequestEntry.%d.ReceiptHandle" % n] = handle
        res = call(params)
        for ok in res.iterfind(".//sqs:DeleteMessageBatchResultEntry", NS):
            log.write("deleted %s\n" % entries[ok.findtext("sqs:Id", namespaces=NS)][0])
