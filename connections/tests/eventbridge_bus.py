"""A partner event bus on the moto server (s3server.endpoint()) with an SQS queue as its rule's
target, so a test can count what EventBridge delivered. For tests only."""

from __future__ import annotations

import json
import uuid

import boto3

from connections.tests.s3server import ACCESS_KEY, REGION, SECRET_KEY, need_s3


def aws(service: str):
    return boto3.client(service, endpoint_url=need_s3(), aws_access_key_id=ACCESS_KEY,
                        aws_secret_access_key=SECRET_KEY, region_name=REGION)


def partner_bus() -> tuple[str, str]:
    """(the event bus's name, SQS queue URL receiving every event on it). A custom bus: moto stores
    a partner bus under its aws.partner/... name but looks buses up by the part after the last
    "/", so PutEvents to a partner bus name cannot be routed there."""
    name = f"sluice-bus-{uuid.uuid4().hex[:12]}"
    events, sqs = aws("events"), aws("sqs")
    events.create_event_bus(Name=name)
    queue = sqs.create_queue(QueueName=f"q-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="everything", EventBusName=name, EventPattern=json.dumps({"source": [{"prefix": ""}]}))
    events.put_targets(Rule="everything", EventBusName=name, Targets=[{"Id": "q", "Arn": arn}])
    return name, queue


def drain(queue: str) -> list[dict]:
    """Every event delivered to the queue so far (and deletes them)."""
    sqs, got = aws("sqs"), []
    while True:
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return got
        for m in messages:
            got.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
