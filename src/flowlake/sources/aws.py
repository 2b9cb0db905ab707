"""What every AWS source shares: sessions and credentials (profiles, SSO, instance roles, an
assumed role), clients with botocore's standard retries, our own retries for what botocore leaves
(bodies cut short, expired credentials), and one-line explanations of AWS errors."""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import boto3
import botocore.session
from botocore.client import BaseClient
from botocore.config import Config
from botocore.credentials import AssumeRoleCredentialFetcher, CredentialProvider, DeferredRefreshableCredentials
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    IncompleteReadError,
    NoCredentialsError,
    ReadTimeoutError,
    ResponseStreamingError,
)

T = TypeVar("T")

TIMEOUT = float(os.environ.get("FLOWLAKE_AWS_TIMEOUT", "60"))
"""Seconds to connect, or to wait for the next bytes of a response (env FLOWLAKE_AWS_TIMEOUT)."""
ATTEMPTS = 8
"""Tries of each request in botocore (throttling, 5xx, resets, timeouts), and of each operation in
`Aws.call` for what botocore does not retry."""
BACKOFF = 0.5
BACKOFF_MAX = 20.0
"""`Aws.call` waits a random time up to BACKOFF × 2^(try - 1), at most BACKOFF_MAX (full jitter)."""
CHUNK = 1024 * 1024

EXPIRED = frozenset({"ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"})
DENIED = frozenset({"AccessDenied", "AccessDeniedException", "AllAccessDisabled", "UnauthorizedOperation"})
_CUT_SHORT = (ResponseStreamingError, IncompleteReadError, ReadTimeoutError)
"""Failures while a streamed body (a download) is read, which botocore's own retries do not cover."""



class SourceError(Exception):
    """A source that cannot be read at all (no such bucket or log group, no permission to list, no
    credentials): one line for the user and a non-zero exit."""


class ReadError(OSError):
    """One object that could not be read: ingest marks it failed and tries it again next run."""


@dataclass(frozen=True)
class AwsOptions:
    """How to reach AWS: the standard credential chain (environment, SSO, profiles, instance roles),
    optionally a named profile, a region, an endpoint (S3-compatible stores) and a role to assume."""

    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    role_arn: str | None = None


class Aws:
    """A client of one AWS service, shared by threads (boto3's clients are thread-safe; sessions are not)."""

    def __init__(self, service: str, options: AwsOptions, connections: int = 10) -> None:
        self.service, self.options, self.connections = service, options, connections
        self._lock = threading.Lock()
        self._generation = 0
        self._client = self._connect()
        self.region: str = self._client.meta.region_name

    def _connect(self) -> BaseClient:
        try:
            session = _session(self.options)
        except BotoCoreError as exc:
            raise SourceError(str(exc)) from None
        region = session.region_name or ("us-east-1" if self.service == "s3" else None)
        if region is None:
            raise SourceError(f"no AWS region for {self.service}: use --region, a profile's region or AWS_REGION")
        config = Config(
            retries={"mode": "standard", "max_attempts": ATTEMPTS},
            connect_timeout=TIMEOUT, read_timeout=TIMEOUT, max_pool_connections=self.connections,
            s3={"addressing_style": "path"} if self.options.endpoint_url else None,
        )
        return session.client(self.service, region_name=region, endpoint_url=self.options.endpoint_url, config=config)

    def call(self, operation: Callable[[BaseClient], T]) -> T:
        """`operation(client)`, tried again when a response is cut short or stalls while being read,
        and when the credentials expired (then the credential chain is read again: a renewed SSO
        login or rotated keys are picked up)."""
        attempt = 0
        while True:
            with self._lock:
                generation, client = self._generation, self._client
            try:
                return operation(client)
            except (ClientError, *_CUT_SHORT) as exc:
                attempt += 1
                expired = isinstance(exc, ClientError) and error_code(exc) in EXPIRED
                if attempt >= ATTEMPTS or (isinstance(exc, ClientError) and not expired):
                    raise
                if expired:
                    self._renew(generation)
            time.sleep(random.uniform(0, min(BACKOFF_MAX, BACKOFF * 2 ** (attempt - 1))))

    def _renew(self, generation: int) -> None:
        """A new client from the credential chain, made once for all the threads that saw the old one expire."""
        with self._lock:
            if self._generation == generation:
                self._client = self._connect()
                self._generation += 1


class _AssumedRole(CredentialProvider):
    METHOD = "flowlake-assume-role"

    def __init__(self, fetcher: AssumeRoleCredentialFetcher) -> None:
        self.fetcher = fetcher

    def load(self) -> DeferredRefreshableCredentials:
        return DeferredRefreshableCredentials(refresh_using=self.fetcher.fetch_credentials, method=self.METHOD)


def _session(options: AwsOptions) -> boto3.Session:
    """The standard credential chain; with a role, that role's credentials, which botocore renews
    before they expire (a long ingest outlives the one-hour default)."""
    session = boto3.Session(profile_name=options.profile, region_name=options.region)
    if not options.role_arn:
        return session
    source = session.get_credentials()
    if source is None:
        raise NoCredentialsError()
    fetcher = AssumeRoleCredentialFetcher(session.client, source, options.role_arn,
                                          extra_args={"RoleSessionName": "flowlake"})
    core = botocore.session.Session(profile=options.profile)
    core.get_component("credential_provider").providers.insert(0, _AssumedRole(fetcher))  # first in the chain
    return boto3.Session(botocore_session=core, region_name=options.region or session.region_name)


def checked(aws: Aws, operation: Callable[[BaseClient], T], permission: str, resource: str) -> T:
    """`aws.call(operation)`, with any failure as a one-line SourceError naming the permission."""
    try:
        return aws.call(operation)
    except ClientError as exc:
        if not error_code(exc) and exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 403:
            raise SourceError(f"access denied: the credentials need {permission} on {resource}") from None
        raise SourceError(explain(exc, permission, resource)) from None
    except BotoCoreError as exc:
        raise SourceError(explain(exc, permission, resource)) from None


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def explain(exc: Exception, permission: str, resource: str) -> str:
    """An AWS failure in one line that says what to do about it."""
    if isinstance(exc, NoCredentialsError):
        return "no AWS credentials found (use --profile, run `aws sso login`, or set AWS_ACCESS_KEY_ID)"
    if isinstance(exc, ClientError):
        code = error_code(exc)
        if code in DENIED:
            return f"access denied: the credentials need {permission} on {resource}"
        if code in EXPIRED:
            return "the AWS credentials expired and could not be renewed (run `aws sso login` or renew the keys)"
        return f"{code}: {exc.response.get('Error', {}).get('Message', '')}".rstrip(": ")
    return str(exc)


