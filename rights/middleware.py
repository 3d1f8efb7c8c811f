"""Keeps the list of a person's devices current, and their language applied.

:class:`LoginSessionMiddleware` goes right after Django's ``AuthenticationMiddleware``. For a
logged-in request it refreshes the session's :class:`~rights.models.LoginSession` at most once a
minute (the time of the last refresh is kept in the session, so other requests cost nothing),
and ends a session the hub no longer knows: one logged out from another device.

It also sets ``request.login_session`` (lazily: the row of this session, or None). Its
``notifications_enabled`` is the device's choice about in-browser notices of new mail; the
inbox shows them only where it is on.

Language: the person's saved language is applied when they log in (the cookie is set on that
response), and a language chosen with the header's selector is saved on the person.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import logout
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from adminaccess.authentication import client_address
from rights.account import LANGUAGES, LAST_SEEN_RESOLUTION, login_session_touch, person_language_set
from rights.models import LoginSession, Person
from rights.signals import LANGUAGE_ATTRIBUTE, SEEN_AT_SESSION_KEY


def set_language_cookie(response, language: str) -> None:
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )


class LoginSessionMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        user = getattr(request, "user", None)
        if session is not None and user is not None and user.is_authenticated and not self._refresh(request):
            # Logged out from another device (or never recorded): this session is over.
            logout(request)
        request.login_session = SimpleLazyObject(lambda: self._current(request))

        response = self.get_response(request)

        language = getattr(request, LANGUAGE_ATTRIBUTE, None)
        if language:
            set_language_cookie(response, language)
        elif settings.LANGUAGE_COOKIE_NAME in response.cookies:
            self._remember_language(request, response.cookies[settings.LANGUAGE_COOKIE_NAME].value)
        return response

    @staticmethod
    def _refresh(request) -> bool:
        session = request.session
        now = timezone.now()
        seen = session.get(SEEN_AT_SESSION_KEY)
        if seen is not None and now.timestamp() - seen < LAST_SEEN_RESOLUTION.total_seconds():
            return True
        if session.session_key is None or not login_session_touch(
            session_key=session.session_key, ip_address=client_address(request) or None
        ):
            return False
        session[SEEN_AT_SESSION_KEY] = now.timestamp()
        return True

    @staticmethod
    def _current(request) -> LoginSession | None:
        key = getattr(request.session, "session_key", None) if hasattr(request, "session") else None
        if not key or not request.user.is_authenticated:
            return None
        return LoginSession.objects.filter(session_key=key, user=request.user).first()

    @staticmethod
    def _remember_language(request, language: str) -> None:
        user = getattr(request, "user", None)
        if language not in LANGUAGES or user is None or not user.is_authenticated:
            return
        person = Person.objects.filter(user=user).first()
        if person is not None:
            person_language_set(person=person, language=language)
