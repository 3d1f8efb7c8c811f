"""The hub pushing a message to a recipient system (protocol REST_PUSH).

One HTTP POST, multipart/form-data with a part ``file`` named after the MeMo UUID, to the
system's registered endpoint, with a timeout. A 2xx means the system took it; it then posts
its business receipt back. Everything else is classified so the resend flow knows whether
to try again: network errors, timeouts, 5xx, 408 and 429 can heal; other 4xx cannot.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import requests
from django.conf import settings

from adminaccess.models import System


@dataclass(frozen=True)
class PushOutcome:
    ok: bool
    permanent: bool
    status_code: int | None
    error: str
    duration_ms: int


#: 4xx answers that say "later", not "never".
RETRYABLE_4XX = frozenset({408, 429})


def push_memo(*, system: System, message_uuid: str, memo_bytes: bytes) -> PushOutcome:
    started = time.monotonic()
    try:
        response = requests.post(
            system.endpoint,
            files={"file": (f"{message_uuid}.xml", memo_bytes, "application/xml")},
            timeout=(settings.DIGITALPOST_PUSH_CONNECT_TIMEOUT, settings.DIGITALPOST_PUSH_READ_TIMEOUT),
            allow_redirects=False,
            headers={"User-Agent": "digitalpost-hub", "X-Memo-Message-UUID": message_uuid},
        )
    except requests.RequestException as exc:
        return PushOutcome(False, False, None, f"{exc.__class__.__name__}: {exc}"[:500], _ms(started))
    code = response.status_code
    if 200 <= code < 300:
        return PushOutcome(True, False, code, "", _ms(started))
    permanent = 400 <= code < 500 and code not in RETRYABLE_4XX
    body = response.text[:300] if response.content else ""
    return PushOutcome(False, permanent, code, f"HTTP {code} {body}".strip(), _ms(started))


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
