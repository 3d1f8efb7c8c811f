"""Logging in with MitID over OpenID Connect (mozilla-django-oidc).

The identity provider (NemLog-in, or another MitID broker) tells the hub who logged in by a
CPR claim, named by ``settings.OIDC_CPR_CLAIM``. The backend maps it to the :class:`Person`
with that CPR number and logs in as their :class:`User`, creating the login identity the first
time. A CPR number the hub does not know is refused with a page that says so: people come
from the registers, never from a login.

Everything is configured from the environment (``digitalpost/settings/base.py``); the URLs
below are mounted under ``/oidc/`` only when ``settings.OIDC_ENABLED``.
"""

from __future__ import annotations

import logging
import re

from django.conf import settings
from django.shortcuts import render
from django.urls import include, path
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from rights.account import person_user_ensure
from rights.models import Person, User

log = logging.getLogger("digitalpost.login")

#: Why the last OIDC login in this session was refused, for the refusal page.
REFUSAL_SESSION_KEY = "oidc_login_refused"
UNKNOWN_PERSON = "unknown-person"
NO_CPR = "no-cpr"


class MitIDBackend(OIDCAuthenticationBackend):
    """Authenticate a MitID login by its CPR claim against the people the hub knows."""

    def _refuse(self, reason: str) -> None:
        request = getattr(self, "request", None)
        if request is not None and hasattr(request, "session"):
            request.session[REFUSAL_SESSION_KEY] = reason

    def _cpr(self, claims: dict) -> str | None:
        cpr = re.sub(r"[\s-]", "", str(claims.get(settings.OIDC_CPR_CLAIM) or ""))
        return cpr if re.fullmatch(r"[0-9]{10}", cpr) else None

    def verify_claims(self, claims: dict) -> bool:
        if self._cpr(claims) is None:
            log.warning("OIDC login refused: no valid CPR claim %r", settings.OIDC_CPR_CLAIM)
            self._refuse(NO_CPR)
            return False
        return True

    def describe_user_by_claims(self, claims: dict) -> str:
        cpr = self._cpr(claims) or ""
        return f"CPR {cpr[:6]}-****"

    def filter_users_by_claims(self, claims: dict):
        person = Person.objects.filter(cpr=self._cpr(claims), user__isnull=False).first()
        if person is None:
            return User.objects.none()
        return User.objects.filter(pk=person.user_id, is_active=True)

    def create_user(self, claims: dict) -> User | None:
        """Only for a known person who has never logged in: give them their login identity."""
        person = Person.objects.filter(cpr=self._cpr(claims)).first()
        if person is None:
            log.info("OIDC login refused: %s is not known to the hub", self.describe_user_by_claims(claims))
            self._refuse(UNKNOWN_PERSON)
            return None
        if person.user_id is not None:
            # The person has a login identity that is deactivated: no way in.
            self._refuse(UNKNOWN_PERSON)
            return None
        return person_user_ensure(person=person)

    def update_user(self, user: User, claims: dict) -> User:
        # Names and addresses come from the registers, not from the identity provider.
        return user


def login_refused(request):
    """Where a refused OIDC login lands (``LOGIN_REDIRECT_URL_FAILURE``)."""
    reason = request.session.pop(REFUSAL_SESSION_KEY, None)
    return render(request, "rights/login_refused.html", {"reason": reason}, status=403)


urlpatterns = [
    path("refused/", login_refused, name="login-refused"),
    path("", include("mozilla_django_oidc.urls")),
]
