"""A boto3 client for one app's AWS credentials, and AWS errors as delivery outcomes.

boto3 makes its own HTTP requests (it cannot go through ``hangar.egress``): the endpoint is
AWS or the one the operator or app configured, and the egress proxy is passed to botocore so
a deployment that only reaches out through its proxy still works (docs/egress.md).
"""

from __future__ import annotations

from typing import Any

from hangar.messaging.adapters.base import DeliveryOutcome, OutcomeKind

_RETRY_CODES = {
    "Throttling", "ThrottlingException", "ThrottledException", "TooManyRequestsException",
    "ServiceUnavailable", "InternalError", "InternalFailure", "RequestTimeout", "LimitExceededException",
}  # fmt: skip


def aws_client(
    service: str, *, access_key_id: str, secret_access_key: str, region: str, endpoint_url: str | None,
    proxy: str | None, timeout: float,
) -> Any:  # fmt: skip
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 1, "mode": "standard"},
        proxies={"http": proxy, "https": proxy} if proxy else None,
    )  # fmt: skip
    return boto3.session.Session().client(
        service, region_name=region, endpoint_url=endpoint_url or None, aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key, config=config,
    )  # fmt: skip


def aws_failure(exc: Exception) -> DeliveryOutcome:
    """A botocore error as an outcome: throttling, 5xx and connection trouble are worth a retry."""
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or "")
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if code in _RETRY_CODES or status == 429 or status >= 500:
            return DeliveryOutcome(OutcomeKind.RETRY, error=f"aws {code or status}")
        return DeliveryOutcome(OutcomeKind.FAILED, error=f"aws {code or status}")
    if isinstance(exc, BotoCoreError):  # connection refused, timeout, endpoint unreachable
        return DeliveryOutcome(OutcomeKind.RETRY, error=f"aws {exc.__class__.__name__}")
    raise exc
