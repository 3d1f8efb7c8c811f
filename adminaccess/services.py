"""Writes for sender/recipient systems and the event log."""

from __future__ import annotations

import hashlib
import hmac
import io
import ipaddress
import logging
import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from adminaccess.certificates import ParsedCertificate, format_fingerprint
from adminaccess.models import Event, System
from rights.models import Organisation

log = logging.getLogger(__name__)

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
    allowed_ips: list[str] | None = None,
    actor_user=None,
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
        allowed_ips=validate_allowed_ips(allowed_ips or []),
        token_hash=token_hash,
        token_prefix=prefix,
        token_rotated_at=timezone.now(),
    )
    event_log_write(
        tag=Event.Tag.SYSTEM_CREATED, organisation=organisation, system=system, actor_user=actor_user
    )
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


# --- Systems in Administrativ Adgang ----------------------------------------------------------
# Staff edit systems here; the delivery engine keeps their health (mailbox/resend.py).

#: Fields a staff member may change on an existing system. The kind never changes.
SYSTEM_EDITABLE_FIELDS = (
    "name",
    "protocol",
    "endpoint",
    "memo_version",
    "allowed_ips",
    "technical_contact_email",
)
#: How long before a certificate expires its technical contact is warned.
CERTIFICATE_WARNING_DAYS = 30


def validate_allowed_ips(values: list[str]) -> list[str]:
    """CIDR strings, each a network address (``10.0.0.0/24``; a bare address is one host)."""
    networks, errors = [], []
    for value in values:
        value = value.strip()
        if not value:
            continue
        try:
            network = ipaddress.ip_network(value, strict=True)
        except ValueError:
            errors.append(
                ValidationError(
                    _("%(value)s is not an IP address or a CIDR network (e.g. 192.0.2.0/24)."),
                    code="cidr-invalid",
                    params={"value": value},
                )
            )
            continue
        if str(network) not in networks:
            networks.append(str(network))
    if errors:
        raise ValidationError({"allowed_ips": errors})
    return networks


def _validate_system_fields(*, kind: str, protocol: str, endpoint: str, memo_version: str) -> None:
    if kind == System.Kind.RECIPIENT:
        if protocol not in System.Protocol.values:
            raise ValidationError({"protocol": _("Protocol must be REST pull or REST push.")})
        if protocol == System.Protocol.REST_PUSH and not endpoint:
            raise ValidationError({"endpoint": _("A push system needs an endpoint URL.")})
    elif protocol:
        raise ValidationError({"protocol": _("Only recipient systems have a protocol.")})
    if memo_version not in ("1.1", "1.2"):
        raise ValidationError({"memo_version": _("MeMo version must be 1.1 or 1.2.")})


@transaction.atomic
def system_update(*, system: System, actor_user=None, **changes) -> System:
    """Change a system's settings (see ``SYSTEM_EDITABLE_FIELDS``); logs what changed."""
    unknown = set(changes) - set(SYSTEM_EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"system_update cannot change {', '.join(sorted(unknown))}")
    system = System.objects.select_for_update().get(pk=system.pk)
    if "allowed_ips" in changes:
        changes["allowed_ips"] = validate_allowed_ips(changes["allowed_ips"])
    if "name" in changes:
        changes["name"] = changes["name"].strip()
        if not changes["name"]:
            raise ValidationError({"name": _("A system needs a name.")})
    merged = {field: changes.get(field, getattr(system, field)) for field in SYSTEM_EDITABLE_FIELDS}
    if system.kind == System.Kind.SENDER:
        # A sender has no protocol and no endpoint; ignore what a form might send along.
        merged["protocol"], merged["endpoint"] = "", ""
    _validate_system_fields(
        kind=system.kind,
        protocol=merged["protocol"],
        endpoint=merged["endpoint"],
        memo_version=merged["memo_version"],
    )
    changed = [field for field in SYSTEM_EDITABLE_FIELDS if getattr(system, field) != merged[field]]
    if not changed:
        return system
    for field in changed:
        setattr(system, field, merged[field])
    system.save(update_fields=changed)
    event_log_write(
        tag=Event.Tag.SYSTEM_CHANGED,
        organisation=system.organisation,
        system=system,
        actor_user=actor_user,
        details={"changed": changed},
    )
    return system


@transaction.atomic
def system_set_certificate(*, system: System, certificate: ParsedCertificate, actor_user=None) -> System:
    """Register a parsed client certificate; the API then requires it (authentication.py)."""
    system = System.objects.select_for_update().get(pk=system.pk)
    system.certificate_pem = certificate.pem
    system.certificate_subject = certificate.subject
    system.certificate_issuer = certificate.issuer
    system.certificate_serial = certificate.serial
    system.certificate_not_after = certificate.not_after
    system.certificate_fingerprint = certificate.fingerprint
    system.certificate_expiry_warned_for = ""
    system.save(update_fields=[*_CERTIFICATE_FIELDS, "certificate_expiry_warned_for"])
    event_log_write(
        tag=Event.Tag.SYSTEM_CHANGED,
        organisation=system.organisation,
        system=system,
        actor_user=actor_user,
        details={
            "changed": ["certificate"],
            "certificateFingerprint": certificate.fingerprint,
            "certificateNotAfter": certificate.not_after.isoformat(),
        },
    )
    return system


_CERTIFICATE_FIELDS = [
    "certificate_pem",
    "certificate_subject",
    "certificate_issuer",
    "certificate_serial",
    "certificate_not_after",
    "certificate_fingerprint",
]


@transaction.atomic
def system_remove_certificate(*, system: System, actor_user=None) -> System:
    system = System.objects.select_for_update().get(pk=system.pk)
    if not system.certificate_fingerprint:
        return system
    for field in _CERTIFICATE_FIELDS:
        setattr(system, field, None if field == "certificate_not_after" else "")
    system.certificate_expiry_warned_for = ""
    system.save(update_fields=[*_CERTIFICATE_FIELDS, "certificate_expiry_warned_for"])
    event_log_write(
        tag=Event.Tag.SYSTEM_CHANGED,
        organisation=system.organisation,
        system=system,
        actor_user=actor_user,
        details={"changed": ["certificate"], "certificateRemoved": True},
    )
    return system


@transaction.atomic
def system_set_default(*, system: System, actor_user=None) -> System:
    """Make an active recipient system its organisation's default, in one step.

    The organisation's systems are locked, the old default cleared and the new one set in the
    same transaction, so the one-default constraint holds and no reader sees no default.
    """
    systems = list(
        System.objects.select_for_update().filter(organisation_id=system.organisation_id).order_by("pk")
    )
    system = next(s for s in systems if s.pk == system.pk)
    if system.kind != System.Kind.RECIPIENT:
        raise ValidationError(_("Only a recipient system can be the default."), code="not-recipient")
    if not system.is_active:
        raise ValidationError(_("A deactivated system cannot be the default."), code="deactivated")
    if system.is_default:
        return system
    previous = next((s for s in systems if s.is_default), None)
    System.objects.filter(organisation_id=system.organisation_id, is_default=True).update(is_default=False)
    System.objects.filter(pk=system.pk).update(is_default=True)
    system.is_default = True
    event_log_write(
        tag=Event.Tag.SYSTEM_CHANGED,
        organisation=system.organisation,
        system=system,
        actor_user=actor_user,
        details={
            "changed": ["is_default"],
            "previousDefault": str(previous.system_id) if previous else None,
        },
    )
    return system


def system_reactivate(*, system: System, actor_user=None) -> bool:
    """Reactivate a deactivated recipient system through the delivery engine, so held mail resumes."""
    from mailbox.resend import recipient_system_reactivate

    if system.kind != System.Kind.RECIPIENT:
        raise ValidationError(_("Only recipient systems are deactivated and reactivated."))
    return recipient_system_reactivate(system=system, actor_user=actor_user)


def certificate_expiry_warnings_send(*, now=None) -> int:
    """E-mail the technical contact of every system whose certificate expires within
    ``CERTIFICATE_WARNING_DAYS`` (or has expired), once per certificate. Returns how many went.

    Each warning is claimed by a conditional UPDATE of ``certificate_expiry_warned_for`` and sent
    in the same transaction: if the mail fails the claim rolls back and tomorrow's run tries again;
    two runs at once send one warning.
    """
    now = now or timezone.now()
    due = (
        System.objects.filter(
            certificate_not_after__lte=now + timedelta(days=CERTIFICATE_WARNING_DAYS),
        )
        .exclude(certificate_fingerprint="")
        .exclude(certificate_expiry_warned_for=F("certificate_fingerprint"))
        .select_related("organisation")
        .order_by("pk")
    )
    sent = 0
    for system in due.iterator(chunk_size=200):
        to = system.technical_contact_email or system.organisation.technical_contact_email
        if not to:
            log.warning("No technical contact to warn about the certificate of %s", system.system_id)
            continue
        with transaction.atomic():
            claimed = (
                System.objects.filter(pk=system.pk, certificate_fingerprint=system.certificate_fingerprint)
                .exclude(certificate_expiry_warned_for=system.certificate_fingerprint)
                .update(certificate_expiry_warned_for=system.certificate_fingerprint)
            )
            if not claimed:
                continue
            _send_certificate_warning(system, to, now)
        sent += 1
    return sent


def _send_certificate_warning(system: System, to: str, now) -> None:
    with translation.override(settings.LANGUAGE_CODE):
        params = {
            "name": system.name,
            "date": system.certificate_not_after.strftime("%Y-%m-%d"),
            "subject": system.certificate_subject,
            "fingerprint": format_fingerprint(system.certificate_fingerprint),
        }
        if system.certificate_not_after <= now:
            subject = _("The certificate of %(name)s has expired") % params
        else:
            subject = _("The certificate of %(name)s expires soon") % params
        body = (
            _(
                "The client certificate registered for the system %(name)s expires on %(date)s.\n"
                "Certificate: %(subject)s\nSHA-256: %(fingerprint)s\n\n"
                "After that date the hub refuses the system's API calls. Upload a new certificate "
                "in Administrativ Adgang, under Systems."
            )
            % params
        )
    send_mail(subject, body, None, [to], fail_silently=False)


# --- The organisation's logo ----------------------------------------------------------------------

#: Largest logo file accepted, and the pixel bounds of a logo shown beside letters.
LOGO_MAX_BYTES = 500 * 1024
LOGO_MIN_PIXELS = 16
LOGO_MAX_PIXELS = 2000
# Real type by magic bytes, never by name or the browser's content type. SVG is refused: it
# can carry script, and sanitising it well is a project of its own.
_LOGO_TYPES = {b"\x89PNG\r\n\x1a\n": "PNG", b"\xff\xd8\xff": "JPEG"}


def validate_logo(data: bytes) -> tuple[bytes, str]:
    """Check an uploaded logo and return it re-encoded (metadata and trailing bytes dropped)
    with its extension. Raises ``ValidationError`` on the ``logo`` field."""
    from PIL import Image, UnidentifiedImageError

    def refuse(message, code):
        raise ValidationError({"logo": ValidationError(message, code=code)})

    if not data:
        refuse(_("The file is empty."), "empty")
    if len(data) > LOGO_MAX_BYTES:
        refuse(_("The logo may be at most 500 KB."), "too-large")
    kind = next((k for magic, k in _LOGO_TYPES.items() if data.startswith(magic)), None)
    if kind is None:
        refuse(_("The logo must be a PNG or JPEG image."), "type")
    try:
        with Image.open(io.BytesIO(data), formats=[kind]) as image:
            width, height = image.size
            bounds = range(LOGO_MIN_PIXELS, LOGO_MAX_PIXELS + 1)
            if width not in bounds or height not in bounds:
                refuse(
                    _("The logo must be between 16 and 2000 pixels wide and high; it is %(w)s × %(h)s.")
                    % {"w": width, "h": height},
                    "dimensions",
                )
            image.load()
            out = io.BytesIO()
            if kind == "JPEG":
                image.convert("RGB").save(out, format="JPEG", quality=90)
            else:
                image.save(out, format="PNG", optimize=True)
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError):
        refuse(_("The file is not a readable PNG or JPEG image."), "malformed")
    return out.getvalue(), ".jpg" if kind == "JPEG" else ".png"


@transaction.atomic
def organisation_set_logo(*, organisation: Organisation, data: bytes, actor_user=None) -> Organisation:
    content, extension = validate_logo(data)
    organisation = Organisation.objects.select_for_update().get(pk=organisation.pk)
    old_name = organisation.logo.name
    digest = hashlib.sha256(content).hexdigest()[:12]
    organisation.logo.save(f"{organisation.cvr}-{digest}{extension}", ContentFile(content), save=False)
    organisation.save(update_fields=["logo"])
    if old_name and old_name != organisation.logo.name:
        name = old_name
        transaction.on_commit(lambda: organisation.logo.storage.delete(name))
    event_log_write(
        tag=Event.Tag.LOGO_CHANGED,
        organisation=organisation,
        actor_user=actor_user,
        details={"logo": organisation.logo.name, "bytes": len(content)},
    )
    return organisation


@transaction.atomic
def organisation_remove_logo(*, organisation: Organisation, actor_user=None) -> Organisation:
    organisation = Organisation.objects.select_for_update().get(pk=organisation.pk)
    if not organisation.logo:
        return organisation
    name = organisation.logo.name
    storage = organisation.logo.storage
    organisation.logo = ""
    organisation.save(update_fields=["logo"])
    transaction.on_commit(lambda: storage.delete(name))
    event_log_write(
        tag=Event.Tag.LOGO_CHANGED,
        organisation=organisation,
        actor_user=actor_user,
        details={"logo": None},
    )
    return organisation
