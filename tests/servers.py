"""Real servers for the S3 and CloudWatch Logs tests: moto's standalone server, and a fault proxy.

moto runs in its own process; the proxy runs in threads of the test process. Both listen on
127.0.0.1 on a free port and stop with the test session. The code under test reaches them only
through boto3 over HTTP (`AWS_ENDPOINT_URL` points at the proxy), never through patches or
in-process mocks. The proxy logs every request (to count listings) and injects faults on a share
of requests: throttling, 500s, connection resets, bodies cut off midway, stalls, expired
credentials and access denied. Test modules load these fixtures with `pytest_plugins = ["servers"]`.
"""

from __future__ import annotations

import json
import os
import random
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.client import HTTPConnection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import boto3
import pytest

REGION = "us-east-1"
STALL = 1.5
"""Seconds a `stall` fault holds a request: past the client's timeout when a test sets FLOWLAKE_AWS_TIMEOUT=1."""

_LAUNCH = """
import sys
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
server = ThreadedMotoServer("127.0.0.1", 0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()  # serve until the test session closes this pipe (or dies)
"""

_ERRORS = {
    # fault: (HTTP status, S3 error code, CloudWatch Logs error code)
    "throttle": (503, "SlowDown", "ThrottlingException"),
    "error": (500, "InternalError", "ServiceUnavailableException"),
    "expired": (400, "ExpiredToken", "ExpiredTokenException"),
    "denied": (403, "AccessDenied", "AccessDeniedException"),
}
FAULTS = (*_ERRORS, "reset", "cut", "stall")


class Moto:
    """moto's standalone server in a child process."""

    def __init__(self) -> None:
        env = {**os.environ, "MOTO_S3_ALLOW_CROSSACCOUNT_ACCESS": "false"}  # a bucket is its account's, as on AWS
        self.process = subprocess.Popen([sys.executable, "-c", _LAUNCH], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, text=True, env=env)
        self.port = int(self.process.stdout.readline())
        self.url = f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        """Forget every bucket, object and log group."""
        urllib.request.urlopen(urllib.request.Request(f"{self.url}/moto-api/reset", method="POST"), timeout=30)

    def client(self, service: str) -> Any:
        """A client straight to the server, for setting up data (no faults, not logged)."""
        return boto3.client(service, endpoint_url=self.url, region_name=REGION, aws_access_key_id="testing",
                            aws_secret_access_key="testing")

    def stop(self) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class Exchange:
    """One request through the proxy, and the fault it got, if any."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    fault: str | None = None

    @property
    def operation(self) -> str:
        """CloudWatch Logs' operation (`FilterLogEvents`), or S3's in a few words (`ListObjectsV2`, `GetObject`)."""
        target = self.headers.get("X-Amz-Target", "")
        if target:
            return target.rsplit(".", 1)[-1]
        if b"Action=" in self.body:
            return dict(parse_qsl(self.body.decode()))["Action"]
        if self.method == "GET" and self.query.get("list-type") == "2":
            return "ListObjectsV2"
        return "GetObject" if self.method == "GET" else self.method

    @property
    def key(self) -> str:
        """The S3 key (path style: /bucket/key)."""
        return unquote(self.path.split("/", 2)[-1]) if self.path.count("/") >= 2 else ""


@dataclass
class _Rule:
    fault: str
    share: float
    when: Callable[[Exchange], bool]
    times: int | None


class FaultProxy:
    """An HTTP proxy in front of the server that logs requests and injects faults."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.lock = threading.Lock()
        self.log: list[Exchange] = []
        self.rules: list[_Rule] = []
        self.rewrite: Callable[[Exchange], bytes | None] | None = None
        """May answer a request itself (a JSON body) instead of the server; may change its body first."""
        self.random = random.Random(7)
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.proxy = self
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def inject(self, fault: str, share: float = 1.0, when: Callable[[Exchange], bool] = lambda exchange: True,
               times: int | None = None) -> None:
        """Give `share` of the requests `when` selects this fault (at most `times` times)."""
        assert fault in FAULTS, fault
        self.rules.append(_Rule(fault, share, when, times))

    def clear(self) -> None:
        with self.lock:
            self.log.clear()
            self.rules.clear()
            self.rewrite = None
            self.random.seed(7)

    def requests(self, operation: str) -> list[Exchange]:
        with self.lock:
            return [e for e in self.log if e.operation == operation]

    def choose(self, exchange: Exchange) -> str | None:
        with self.lock:
            self.log.append(exchange)
            for rule in self.rules:
                if rule.times != 0 and rule.when(exchange) and self.random.random() < rule.share:
                    rule.times = None if rule.times is None else rule.times - 1
                    return rule.fault
        return None

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    proxy: FaultProxy

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up on a stalled request is expected here, not worth a traceback."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes: no 40 ms delayed-ACK wait
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the proxy's own log is `FaultProxy.log`."""

    def _handle(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        url = urlsplit(self.path)
        exchange = Exchange(self.command, url.path, dict(parse_qsl(url.query, keep_blank_values=True)),
                            dict(self.headers.items()), body)
        proxy = self.server.proxy
        exchange.fault = proxy.choose(exchange)
        if exchange.fault == "reset":
            self._reset()
            return
        if exchange.fault in _ERRORS:
            self._send(*self._error(exchange))
            return
        if exchange.fault == "stall":
            time.sleep(STALL)
        answer = proxy.rewrite(exchange) if proxy.rewrite else None
        if answer is None:
            self._send(*self._forward(exchange), cut=exchange.fault == "cut")
        else:
            self._send(200, [("Content-Type", "application/x-amz-json-1.1")], answer)

    do_GET = do_PUT = do_POST = do_DELETE = _handle

    def _forward(self, exchange: Exchange) -> tuple[int, list[tuple[str, str]], bytes]:
        upstream = HTTPConnection("127.0.0.1", self.server.proxy.upstream_port, timeout=60)
        headers = {k: v for k, v in exchange.headers.items() if k.lower() != "content-length"}
        upstream.request(exchange.method, self.path, body=exchange.body, headers=headers)
        response = upstream.getresponse()
        data = response.read()
        upstream.close()
        hop = {"content-length", "transfer-encoding", "connection", "date", "server"}
        return response.status, [(k, v) for k, v in response.getheaders() if k.lower() not in hop], data

    def _error(self, exchange: Exchange) -> tuple[int, list[tuple[str, str]], bytes]:
        status, s3_code, logs_code = _ERRORS[exchange.fault or ""]
        if "X-Amz-Target" in exchange.headers:
            body = json.dumps({"__type": logs_code, "message": f"injected {exchange.fault}"}).encode()
            return status, [("Content-Type", "application/x-amz-json-1.1")], body
        xml = f"<Error><Code>{s3_code}</Code><Message>injected {exchange.fault}</Message></Error>"
        return status, [("Content-Type", "application/xml")], xml.encode()

    def _send(self, status: int, headers: list[tuple[str, str]], data: bytes, cut: bool = False) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[: len(data) // 2] if cut else data)
        if cut:
            self.wfile.flush()
            self._reset()

    def _reset(self) -> None:
        """Drop the connection with a TCP reset, as a failing load balancer does."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True


@dataclass
class LocalAws:
    """What a test needs: the servers, clients to set up data, and the environment for `run_cli`."""

    moto: Moto
    proxy: FaultProxy
    home: Path
    env: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.env = {
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION,
            "AWS_ENDPOINT_URL": self.proxy.url, "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": str(self.home / "config"), "AWS_SHARED_CREDENTIALS_FILE": str(self.home / "credentials"),
        }

    def client(self, service: str) -> Any:
        return self.moto.client(service)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[Moto]:
    server = Moto()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fault_proxy(moto_server: Moto) -> Iterator[FaultProxy]:
    proxy = FaultProxy(moto_server.port)
    yield proxy
    proxy.stop()


@pytest.fixture
def aws(moto_server: Moto, fault_proxy: FaultProxy, tmp_path: Path) -> LocalAws:
    """Empty servers, no faults, and an environment whose only AWS is them."""
    moto_server.reset()
    fault_proxy.clear()
    home = tmp_path / "aws-home"
    home.mkdir()
    return LocalAws(moto_server, fault_proxy, home)
