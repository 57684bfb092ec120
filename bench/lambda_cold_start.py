#!/usr/bin/env python3
"""Cold starts of folio's AWS functions, as Lambda starts them, on this machine.

For each function, RUNS times: spawn `folio lambda <function>` under a Runtime API served here,
time spawn -> its first `GET /next` (init: clients built, settings read), then hand it one
event and time -> its answer (the first invocation, on cold clients). Needs moto's server
(DynamoDB, Cognito, S3) on MOTO_URL; bench/lambda.sh starts it.

Usage: lambda_cold_start.py FOLIO_BINARY   (env: MOTO_URL; RUNS, default 10)
"""

import json
import os
import queue
import statistics
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3

FOLIO = sys.argv[1]
RUNS = int(os.environ.get("RUNS", "10"))
MOTO = os.environ["MOTO_URL"]


class Runtime:
    """One function's Runtime API: events to hand out, the time of the first `next`, answers."""

    def __init__(self):
        self.events = queue.Queue()
        self.answers = queue.Queue()
        self.first_next = None


RUNTIME = Runtime()


class Handler(BaseHTTPRequestHandler):
    # Keep-alive, as Lambda's Runtime API: the runtime client reuses its connection.
    protocol_version = "HTTP/1.1"

    def log_message(self, *_):
        pass

    def do_GET(self):
        if RUNTIME.first_next is None:
            RUNTIME.first_next = time.perf_counter()
        request_id, event, extra = RUNTIME.events.get()
        body = json.dumps(event).encode()
        self.send_response(200)
        self.send_header("lambda-runtime-aws-request-id", request_id)
        self.send_header("lambda-runtime-deadline-ms", str(int(time.time() * 1000) + 60_000))
        self.send_header("lambda-runtime-invoked-function-arn", "arn:aws:lambda:eu-west-1:1:function:folio")
        for name, value in extra:
            self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("content-length", "0"))
        body = self.rfile.read(length)
        RUNTIME.answers.put((time.perf_counter(), self.path, body))
        self.send_response(202)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"{}")


class QuietServer(ThreadingHTTPServer):
    """Connections of the functions killed after their first answer end mid-request: expected."""

    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


def setup():
    """A table, a user pool with a confirmed user: the URLs and the user's access token."""
    kwargs = dict(endpoint_url=MOTO, region_name="eu-west-1", aws_access_key_id="moto", aws_secret_access_key="moto")
    table = f"folio-bench-{uuid.uuid4().hex[:8]}"
    dynamodb = boto3.client("dynamodb", **kwargs)
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    idp = boto3.client("cognito-idp", **kwargs)
    pool = idp.create_user_pool(PoolName="bench", UsernameAttributes=["email"])["UserPool"]["Id"]
    client = idp.create_user_pool_client(
        UserPoolId=pool, ClientName="web", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    )["UserPoolClient"]["ClientId"]
    idp.sign_up(ClientId=client, Username="bench@example.com", Password="Bench-password-1")
    idp.admin_confirm_sign_up(UserPoolId=pool, Username="bench@example.com")
    bucket = f"folio-bench-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", **kwargs).create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    token = idp.initiate_auth(
        ClientId=client,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "bench@example.com", "PASSWORD": "Bench-password-1"},
    )["AuthenticationResult"]["AccessToken"]
    env = {
        "FOLIO_INDEX_URL": f"dynamodb://{table}?endpoint={MOTO}&region=eu-west-1",
        "FOLIO_OBJECTS_URL": f"s3://{bucket}?endpoint={MOTO}&region=eu-west-1",
        "FOLIO_IDENTITY_URL": f"cognito://{pool}?client_id={client}&endpoint={MOTO}",
    }
    return env, token


def markdown_2kb():
    paragraph = "folio renders markdown to PDF: *emphasis*, **strong**, `code` and [links](https://example.com). "
    text = "# Cold start\n\n" + "\n\n".join(paragraph * 2 for _ in range(10))
    return text[:2048]


def first_events(token):
    identity = json.dumps({"cognitoIdentityId": "eu-west-1:bench", "cognitoIdentityPoolId": "eu-west-1:pool"})
    api = {
        "version": "2.0",
        "rawPath": "/api/documents",
        "rawQueryString": "",
        "headers": {"authorization": f"Bearer {token}", "content-type": "application/json", "host": "bench"},
        "requestContext": {"http": {"method": "POST", "sourceIp": "198.51.100.7"}},
        "body": json.dumps({"markdown": markdown_2kb()}),
        "isBase64Encoded": False,
    }
    test_event = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "bench"})
    return {
        "api (2 KB create)": ("api", api, []),
        "create (2 KB, direct)": ("create", {"markdown": markdown_2kb()}, [("lambda-runtime-cognito-identity", identity)]),
        "query (direct)": ("query", {"limit": 20}, [("lambda-runtime-cognito-identity", identity)]),
        "indexer (S3 test event)": ("indexer", {"Records": [{"messageId": "m1", "body": test_event}]}, []),
    }


def main():
    env, token = setup()
    server = QuietServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    address = f"127.0.0.1:{server.server_address[1]}"
    rows = []
    for label, (function, event, extra) in first_events(token).items():
        inits, answers = [], []
        for run in range(RUNS):
            global RUNTIME
            RUNTIME = Runtime()
            process_env = dict(os.environ, AWS_ACCESS_KEY_ID="moto", AWS_SECRET_ACCESS_KEY="moto", **env)
            process_env.update(
                AWS_LAMBDA_RUNTIME_API=address,
                AWS_LAMBDA_FUNCTION_NAME=function,
                AWS_LAMBDA_FUNCTION_MEMORY_SIZE="2048",
                AWS_LAMBDA_FUNCTION_VERSION="1",
                FOLIO_LOG="warn",
            )
            started = time.perf_counter()
            child = subprocess.Popen([FOLIO, "lambda", function], env=process_env, stdout=subprocess.DEVNULL)
            RUNTIME.events.put((f"{function}-{run}", event, extra))
            try:
                answered, path, body = RUNTIME.answers.get(timeout=60)
            except queue.Empty:
                child.kill()
                sys.exit(f"{label}: run {run} gave no answer within 60 s")
            child.kill()
            child.wait()
            if "/error" in path or b'"error"' in body[:200]:
                sys.exit(f"{label}: the function failed: {path} {body[:300]!r}")
            inits.append((RUNTIME.first_next - started) * 1000)
            answers.append((answered - RUNTIME.first_next) * 1000)
        rows.append((label, inits, answers))
    print(f"{RUNS} cold starts each, {os.cpu_count()} cores; ms")
    print("| function (first event) | init median | init max | first answer median | first answer max |")
    print("|---|---|---|---|---|")
    for label, inits, answers in rows:
        print(
            f"| {label} | {statistics.median(inits):.1f} | {max(inits):.1f} "
            f"| {statistics.median(answers):.1f} | {max(answers):.1f} |"
        )
    server.shutdown()


if __name__ == "__main__":
    main()
