"""Runs both example workers against moto's in-process SQS.

Both examples are called app.py, so each test loads its own fresh copy by path, after the
environment is set and inside the mock (the apps read env and create their client at import).
"""

import importlib.util
import json
import os
import signal
import uuid
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

EXAMPLES = Path(__file__).resolve().parent.parent


@pytest.fixture
def sqs(monkeypatch):
    # An endpoint or profile from the caller's shell would send requests past the mock.
    for var in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield boto3.client("sqs")


@pytest.fixture
def load_app(monkeypatch, sqs):
    def load(example, queue_url, **env):
        # No long polling in tests: an empty receive would otherwise block for 10 s.
        env = {"SQS_QUEUE_URL": queue_url, "SQS_WAIT_SECONDS": "0", **env}
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        name = f"{example.replace('-', '_')}_{uuid.uuid4().hex}"
        spec = importlib.util.spec_from_file_location(name, EXAMPLES / example / "app.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load


def make_queue(sqs, *bodies, **attributes):
    url = sqs.create_queue(QueueName=f"q-{uuid.uuid4().hex[:8]}", Attributes=attributes)["QueueUrl"]
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=body)
    return url


def depth(sqs, url):
    """(visible, in flight) message counts."""
    attrs = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]), int(attrs["ApproximateNumberOfMessagesNotVisible"])


class FakeContext:
    """Lambda context whose remaining time follows a script; the last value then repeats."""

    def __init__(self, *remaining_ms):
        self.remaining = list(remaining_ms)
        self.calls = 0

    def get_remaining_time_in_millis(self):
        self.calls += 1
        return self.remaining.pop(0) if len(self.remaining) > 1 else self.remaining[0]


# --- sqs-worker: the polling worker ------------------------------------------------------


def test_poll_once_drains_and_deletes(sqs, load_app):
    url = make_queue(sqs, "one", "two", "three")
    app = load_app("sqs-worker", url)

    assert app.poll_once(app.sqs_client) == 3
    assert depth(sqs, url) == (0, 0)
    assert app.poll_once(app.sqs_client) == 0


def test_schedule_handler_polls_until_empty(sqs, load_app):
    url = make_queue(sqs, "one", "two", "three")
    # Batches of 2 so that draining three messages takes more than one poll.
    app = load_app("sqs-worker", url, SQS_MAX_NUM_MSGS="2")

    assert app.handler({}, FakeContext(60_000)) == {"received": 3}
    assert depth(sqs, url) == (0, 0)


def test_schedule_handler_stops_when_time_runs_short(sqs, load_app):
    url = make_queue(sqs, "one", "two", "three")
    app = load_app("sqs-worker", url, SQS_MAX_NUM_MSGS="1", SQS_VISIBILITY_TO="30")
    margin = app.SAFETY_MARGIN_MS
    assert margin == 30_000  # wait (0 here) + visibility

    # Enough time for the first poll only.
    context = FakeContext(60_000, 60_000, margin - 1)
    assert app.handler({}, context) == {"received": 1}
    assert depth(sqs, url) == (2, 0)

    # Too little time from the start: no poll, nothing received and hidden.
    assert app.handler({}, FakeContext(margin - 1)) == {"received": 0}
    assert depth(sqs, url) == (2, 0)


def test_failed_message_is_not_deleted(sqs, load_app):
    url = make_queue(sqs, "one", "poison", "three")
    app = load_app("sqs-worker", url)

    assert app.poll_once(app.sqs_client) == 3
    # The two good ones are gone; the poison one is still there, hidden until it times out.
    assert depth(sqs, url) == (0, 1)
    assert app.handler({}, FakeContext(60_000)) == {"received": 0}


def test_failing_message_ends_in_dead_letter_queue(sqs, load_app):
    dlq_url = make_queue(sqs)
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"})
    url = make_queue(sqs, "poison", RedrivePolicy=redrive)
    # Visibility 0 makes the failed message visible again at once, so retries need no sleep.
    app = load_app("sqs-worker", url, SQS_VISIBILITY_TO="0")

    assert app.poll_once(app.sqs_client) == 1
    assert app.poll_once(app.sqs_client) == 1
    assert app.poll_once(app.sqs_client) == 0  # third receive: moved to the DLQ instead
    assert depth(sqs, url) == (0, 0)
    dead = sqs.receive_message(QueueUrl=dlq_url)["Messages"]
    assert [m["Body"] for m in dead] == ["poison"]


def test_sigterm_finishes_the_batch_then_returns(sqs, load_app):
    url = make_queue(sqs, "one", "two")
    app = load_app("sqs-worker", url)

    class SigtermDuringReceive:
        """The real client, with ECS's SIGTERM arriving while the first receive is in flight."""

        def __init__(self, client):
            self.client, self.receives = client, 0

        def receive_message(self, **kwargs):
            self.receives += 1
            if self.receives == 1:
                os.kill(os.getpid(), signal.SIGTERM)
            return self.client.receive_message(**kwargs)

        def delete_message_batch(self, **kwargs):
            return self.client.delete_message_batch(**kwargs)

    client = SigtermDuringReceive(app.sqs_client)
    previous = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    try:
        app.run_forever(client)
    finally:
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])
    assert client.receives == 1
    assert depth(sqs, url) == (0, 0)


# --- sqs-event-worker: the SQS-triggered handler -------------------------------------------


def record(message_id, body):
    return {"messageId": message_id, "receiptHandle": f"rh-{message_id}", "body": body}


def test_event_handler_reports_exactly_the_failures(load_app):
    app = load_app("sqs-event-worker", "")
    event = {"Records": [record("m1", "ok"), record("m2", "poison"), record("m3", "ok"), record("m4", "poison")]}

    assert app.handler(event, None) == {
        "batchItemFailures": [{"itemIdentifier": "m2"}, {"itemIdentifier": "m4"}]
    }
    assert app.handler({"Records": [record("m5", "ok")]}, None) == {"batchItemFailures": []}


def test_event_loop_deletes_successes_and_keeps_failures(sqs, load_app):
    url = make_queue(sqs, "one", "poison", "three")
    app = load_app("sqs-event-worker", url)

    assert app.poll_once(app.sqs_client) == 3
    assert depth(sqs, url) == (0, 1)
    assert app.poll_once(app.sqs_client) == 0


def test_event_loop_builds_lambda_shaped_records(sqs, load_app):
    url = make_queue(sqs, "hello")
    app = load_app("sqs-event-worker", url)
    seen = []
    app.handler = lambda event, context: seen.append(event) or {"batchItemFailures": []}

    assert app.poll_once(app.sqs_client) == 1
    [rec] = seen[0]["Records"]
    assert rec["body"] == "hello"
    assert rec["eventSource"] == "aws:sqs"
    assert rec["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"messageId", "receiptHandle", "md5OfBody"} <= rec.keys()
    assert depth(sqs, url) == (0, 0)


def test_event_loop_sigterm_finishes_the_batch(sqs, load_app):
    url = make_queue(sqs, "one", "poison")
    app = load_app("sqs-event-worker", url)
    real_poll = app.poll_once
    polls = []

    def poll_then_sigterm(client):
        polls.append(real_poll(client))
        os.kill(os.getpid(), signal.SIGTERM)

    app.poll_once = poll_then_sigterm
    previous = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    try:
        app.run_forever(app.sqs_client)
    finally:
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])
    assert polls == [2]
    assert depth(sqs, url) == (0, 1)
