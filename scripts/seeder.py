#!/usr/bin/env python3
"""The seed article's (docs/seed-article.md) SQS seeder, made runnable: batches of random messages, each a random
uppercase string of 10 to 50 characters, sent with one SendMessage per message per queue (the
same body to every queue), a pause between batches. The benchmark's baseline for
`replatform load` (scripts/bench-load).

Usage:
  scripts/seeder.py --queue-url URL [--queue-url URL2 ...] --count N [--quiet]
  scripts/seeder.py --queue-url URL [--queue-url URL2 ...] --batches B --max-per-batch M --pause SECONDS [--quiet]

--count N sends exactly N messages to each queue, in one batch (no pause); otherwise each of B
batches has a random 1..M messages, as in the article. The endpoint, region and credentials
come from the standard AWS environment (AWS_ENDPOINT_URL, AWS_REGION, AWS_PROFILE, ...).
--quiet drops the [INFO] lines; [ERROR] lines are always printed. The last line of stdout is
JSON: {"sent": <successful sends, all queues>, "failed": <failed sends>, "seconds": <wall>}.
Exit status 1 when any send failed.
"""
import argparse
import json
import random
import string
import time

import boto3


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queue-url", action="append", required=True, help="a queue to seed (repeatable)")
    parser.add_argument("--count", type=int, help="exactly N messages to each queue, one batch")
    parser.add_argument("--batches", type=int, help="number of batches (the article's NUMBER_OF_MSG_BATCHES)")
    parser.add_argument("--max-per-batch", type=int, help="1..M messages a batch (MAX_MSGS_PER_BATCH)")
    parser.add_argument("--pause", type=float, help="seconds between batches (SLEEP_TIME)")
    parser.add_argument("--quiet", action="store_true", help="no [INFO] lines")
    args = parser.parse_args()
    if args.count is not None:
        if args.batches is not None or args.max_per_batch is not None or args.pause is not None:
            parser.error("--count excludes --batches, --max-per-batch and --pause")
        if args.count < 0:
            parser.error("--count must be >= 0")
    elif args.batches is None or args.max_per_batch is None or args.pause is None:
        parser.error("give --count N, or all of --batches, --max-per-batch and --pause")
    elif args.batches < 0 or args.max_per_batch < 1 or args.pause < 0:
        parser.error("--batches >= 0, --max-per-batch >= 1, --pause >= 0")

    SQS_QUEUE_URLS = args.queue_url
    NUMBER_OF_MSG_BATCHES = 1 if args.count is not None else args.batches
    MAX_MSGS_PER_BATCH = args.max_per_batch
    SLEEP_TIME = 0 if args.count is not None else args.pause

    def info(message):
        if not args.quiet:
            print(f"[INFO] {message}", flush=True)

    sqs_client = boto3.client("sqs")
    sent = failed = 0
    start = time.perf_counter()
    for batch in range(NUMBER_OF_MSG_BATCHES):
        if batch > 0:
            time.sleep(SLEEP_TIME)
        msgs_in_batch = args.count if args.count is not None else random.randint(1, MAX_MSGS_PER_BATCH)
        info(f"Batch {batch + 1}/{NUMBER_OF_MSG_BATCHES}: sending {msgs_in_batch} messages to {len(SQS_QUEUE_URLS)} queue(s)")
        for _ in range(msgs_in_batch):
            MESSAGE = "".join(random.choices(string.ascii_uppercase, k=random.randint(10, 50)))
            for SQS_QUEUE_URL in SQS_QUEUE_URLS:
                try:
                    response = sqs_client.send_message(QueueUrl=SQS_QUEUE_URL, MessageBody=MESSAGE)
                    sent += 1
                    info(f"Sent message {response['MessageId']} to {SQS_QUEUE_URL}: {MESSAGE}")
                except Exception as e:
                    failed += 1
                    print(f"[ERROR] Failed to send message to {SQS_QUEUE_URL}: {e}", flush=True)
    seconds = time.perf_counter() - start
    info(f"Done: {sent} sent, {failed} failed in {seconds:.2f} s")
    print(json.dumps({"sent": sent, "failed": failed, "seconds": round(seconds, 3)}), flush=True)
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
