"""MitID through OpenID Connect, with the identity provider faked (no network)."""

import time
from unittest import mock

import pytest
from django.urls import include, path

from digitalpost.urls import urlpatterns as hub_urlpatterns
from rights.models import LoginSession, Person, User
from rights.oidc import MitIDBackend
from tests.factories import PersonFactory, row_counts

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(client):
    # Pages in English, so the assertions read the msgids whatever the Danish catalogue says.
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


CLAIM = "https://data.gov.dk/model/core/eid/cprNumber"

# This module is also the URLconf of its tests: the hub's URLs with /oidc/ mounted, as they
# are when OIDC is configured.
urlpatterns = [path("oidc/", include("rights.oidc")), *hub_urlpatterns]


@pytest.fixture(autouse=True)
def oidc(settings):
    settings.ROOT_URLCONF = __name__
    settings.OIDC_ENABLED = True
    settings.OIDC_RP_CLIENT_ID = "digitalpost"
    settings.OIDC_RP_CLIENT_SECRET = "secret"
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = "https://idp.example/authorize"
    settings.OIDC_OP_TOKEN_ENDPOINT = "https://idp.example/token"
    settings.OIDC_OP_USER_ENDPOINT = "https://idp.example/userinfo"
    settings.OIDC_OP_JWKS_ENDPOINT = "https://idp.example/jwks"
    settings.OIDC_CPR_CLAIM = CLAIM
    settings.AUTHENTICATION_BACKENDS = [
        "axes.backends.AxesStandaloneBackend",
        "django.contrib.auth.backends.ModelBackend",
        "rights.oidc.MitIDBackend",
    ]


def _callback(client, claims: dict):
    """Come back from the identity provider with an authorisation code; the token, its
    signature and the userinfo answer are faked."""
    session = client.session
    session["oidc_states"] = {
        "the-state": {"code_verifier": None, "nonce": "the-nonce", "added_on": time.time()}
    }
    session.save()
    with (
        mock.patch.object(MitIDBackend, "get_token", return_value={"id_token": "id", "access_token": "at"}),
        mock.patch.object(MitIDBackend, "verify_token", return_value={"nonce": "the-nonce"}),
        mock.patch.object(MitIDBackend, "get_userinfo", return_value=claims),
    ):
        return client.get("/oidc/callback/", {"code": "the-code", "state": "the-state"})


def test_a_known_person_logs_in_by_their_cpr_claim(client):
    person = PersonFactory()

    response = _callback(client, {"sub": "abc", CLAIM: person.cpr})

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(person.user.pk)
    assert LoginSession.objects.get().user == person.user


def test_a_known_person_without_a_login_identity_gets_one(client):
    person = PersonFactory(with_login=False)

    _callback(client, {CLAIM: f"{person.cpr[:6]}-{person.cpr[6:]}"})

    person.refresh_from_db()
    assert person.user is not None and person.user.username == f"cpr-{person.cpr}"
    assert client.session["_auth_user_id"] == str(person.user.pk)


def test_an_unknown_cpr_is_refused_with_a_clear_page_and_creates_nobody(client):
    PersonFactory()
    before = row_counts(Person, User)

    response = _callback(client, {CLAIM: "0101019999"})

    assert response.status_code == 302 and response["Location"] == "/oidc/refused/"
    assert "_auth_user_id" not in client.session
    assert row_counts(Person, User) == before
    page = client.get("/oidc/refused/")
    assert page.status_code == 403
    assert "you have no mailbox in Digital Post" in page.content.decode()


def test_a_login_without_a_cpr_claim_is_refused(client):
    before = row_counts(Person, User)

    _callback(client, {"sub": "abc", "email": "someone@example.dk"})

    assert "_auth_user_id" not in client.session
    assert row_counts(Person, User) == before
    assert "did not tell us your CPR number" in client.get("/oidc/refused/").content.decode()


def test_the_login_page_offers_mitid(client, settings):
    settings.DIGITALPOST_DEV_LOGIN = False

    response = client.get("/login/")

    assert response.status_code == 200
    assert 'href="/oidc/authenticate/"' in response.content.decode()
    assert client.post("/login/", {"person": PersonFactory().pk}).status_code == 404


def test_the_callback_is_throttled_after_five_failures(client):
    person = PersonFactory()
    for _ in range(4):
        assert _callback(client, {CLAIM: "0101019999"}).status_code == 302
    # The fifth failure locks this address out...
    assert _callback(client, {CLAIM: "0101019999"}).status_code == 429

    # ...so even a good login from it is refused for now.
    response = _callback(client, {CLAIM: person.cpr})

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_without_configuration_there_is_no_oidc(client, settings):
    settings.ROOT_URLCONF = "digitalpost.urls"
    assert client.get("/oidc/authenticate/").status_code == 404


def _manage_with_oidc(**extra: str):
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DJANGO_SETTINGS_MODULE", "SECRET_KEY", "ALLOWED_HOSTS")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="digitalpost.settings.production",
        SECRET_KEY="k" * 64 + "-x9!Qz",
        ALLOWED_HOSTS="hub.example.dk",
        OIDC_RP_CLIENT_ID="digitalpost",
        OIDC_RP_CLIENT_SECRET="secret",
        OIDC_OP_AUTHORIZATION_ENDPOINT="https://idp.example/authorize",
        OIDC_OP_TOKEN_ENDPOINT="https://idp.example/token",
        OIDC_OP_USER_ENDPOINT="https://idp.example/userinfo",
        **extra,
    )
    root = Path(__file__).resolve().parents[2]
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_with_mitid_configured_passes_the_deploy_check():
    result = _manage_with_oidc(OIDC_OP_JWKS_ENDPOINT="https://idp.example/jwks")
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_signed_tokens_without_the_providers_keys():
    result = _manage_with_oidc()
    assert result.returncode != 0
    assert "needs OIDC_OP_JWKS_ENDPOINT" in result.stderr
