"""Writes for sender/recipient systems and the event log."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from adminaccess.models import Event, System
from rights.models import Organisation

#: A token chosen by the caller (the demo seed) must still be hard to guess.
MIN_TOKEN_LENGTH = 32
#: Visible start of a token, so staff and logs can tell tokens apart without seeing them.
TOKEN_PREFIX_LENGTH = 8


def _hash_token(token: str) -> str:
    # Tokens are 256 random bits, so a fast hash is enough: there is nothing to brute-force,
    # and every API request checks one.
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> tuple[str, str, str]:
    token = secrets.token_urlsafe(32)
    return token, token[:TOKEN_PREFIX_LENGTH], _hash_token(token)


@transaction.atomic
def system_create(
    *,
    organisation: Organisation,
    kind: str,
    name: str,
    protocol: str = "",
    endpoint: str = "",
    memo_version: str = "1.2",
    is_default: bool = False,
    technical_contact_email: str = "",
    token: str | None = None,
    system_id: uuid.UUID | None = None,
) -> tuple[System, str]:
    """Create a system and its first API token. Returns the token: it is shown only now."""
    if kind not in System.Kind.values:
        raise ValidationError({"kind": "Kind must be SENDER or RECIPIENT."})
    if kind == System.Kind.RECIPIENT:
        protocol = protocol or System.Protocol.REST_PULL
        if protocol not in System.Protocol.values:
            raise ValidationError({"protocol": "Protocol must be REST_PULL or REST_PUSH."})
        if protocol == System.Protocol.REST_PUSH and not endpoint:
            raise ValidationError({"endpoint": "A push system needs an endpoint URL."})
    else:
        if protocol or is_default:
            raise ValidationError({"kind": "Protocol and default apply to recipient systems only."})
    if memo_version not in ("1.1", "1.2"):
        raise ValidationError({"memo_version": "MeMo version must be 1.1 or 1.2."})
    if is_default:
        System.objects.filter(organisation=organisation, is_default=True).update(is_default=False)
    if token is None:
        token, prefix, token_hash = _new_token()
    else:
        if len(token) < MIN_TOKEN_LENGTH:
            raise ValidationError({"token": f"An API token must be at least {MIN_TOKEN_LENGTH} characters."})
        prefix, token_hash = token[:TOKEN_PREFIX_LENGTH], _hash_token(token)
    system = System.objects.create(
        system_id=system_id or uuid.uuid4(),
        organisation=organisation,
        kind=kind,
        name=name,
        protocol=protocol,
        endpoint=endpoint,
        memo_version=memo_version,
        is_default=is_default,
        technical_contact_email=technical_contact_email,
        token_hash=token_hash,
        token_prefix=prefix,
        token_rotated_at=timezone.now(),
    )
    event_log_write(tag=Event.Tag.SYSTEM_CREATED, organisation=organisation, system=system)
    return system, token


@transaction.atomic
def system_rotate_token(*, system: System, actor_user=None) -> str:
    """Issue a new token; the old one stops working at once."""
    token, prefix, token_hash = _new_token()
    system.token_hash, system.token_prefix, system.token_rotated_at = (
        token_hash,
        prefix,
        timezone.now(),
    )
    system.save(update_fields=["token_hash", "token_prefix", "token_rotated_at"])
    event_log_write(
        tag=Event.Tag.API_TOKEN_ROTATED,
        organisation=system.organisation,
        system=system,
        actor_user=actor_user,
    )
    return token


def system_check_token(*, system: System, token: str) -> bool:
    return bool(system.token_hash) and hmac.compare_digest(system.token_hash, _hash_token(token))


def event_log_write(*, tag: str, **refs) -> Event:
    """Append one line to the event log. ``refs`` are Event fields (organisation, message...)."""
    message = refs.get("message")
    if message is not None and "message_uuid" not in refs:
        refs["message_uuid"] = message.message_uuid
    return Event.objects.create(tag=tag, **refs)
