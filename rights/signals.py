"""Logging in and out: remember the device, and apply the person's language.

Connected in ``RightsConfig.ready``. Every way of logging in (MitID through OIDC, the
development login, the Django admin, ``force_login`` in tests) goes through Django's
``login()``, so this is the one place that sees them all.
"""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver
from django.utils import timezone, translation

from adminaccess.authentication import client_address
from rights.account import login_session_forget, login_session_record
from rights.models import Person

#: Session key of the time the session's device row was last refreshed (see middleware).
SEEN_AT_SESSION_KEY = "login_session_seen_at"
#: Set on the request when the response must carry the person's language cookie.
LANGUAGE_ATTRIBUTE = "_digitalpost_language"


@receiver(user_logged_in, dispatch_uid="rights.login_session_record")
def record_login(sender, request, user, **kwargs):
    session = getattr(request, "session", None)
    if session is None:
        return
    if session.session_key is None:
        session.save()
    login_session_record(
        user=user,
        session_key=session.session_key,
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
        ip_address=client_address(request) or None,
    )
    session[SEEN_AT_SESSION_KEY] = timezone.now().timestamp()
    language = Person.objects.filter(user=user).values_list("language", flat=True).first()
    if language:
        # The rest of this response in the person's language, and the cookie for what follows.
        translation.activate(language)
        setattr(request, LANGUAGE_ATTRIBUTE, language)


@receiver(user_logged_out, dispatch_uid="rights.login_session_forget")
def forget_login(sender, request, user, **kwargs):
    session = getattr(request, "session", None)
    if session is not None and session.session_key:
        login_session_forget(session_key=session.session_key)
