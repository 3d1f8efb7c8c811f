"""Every page and action of Administrativ Adgang against every role, and against outsiders.

The patterns are read from the URL resolver (namespace ``adminaccess``), so a new page is checked
the moment it is installed. Each view must be decorated with ``staff_required`` (which leaves
``.staff_roles`` on it); its declared roles are the ones let through, every other role gets 403,
and a refused POST changes no row anywhere. A staff member of another organisation gets 404 for
every object of this one. A pattern with URL parameters needs an entry in ``CASES`` saying how to
call it: without one the test fails, so nobody can add a page that is not checked here.

Each request runs in a savepoint that is rolled back, so an allowed POST (which changes things)
does not change the world the next identity sees.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from adminaccess.access import STAFF_ROLES
from adminaccess.models import System
from adminaccess.navigation import SECTIONS
from mailbox.models import Message
from mailbox.resend import recipient_system_deactivate
from rights.models import StaffRole
from tests.adminaccess.views.helpers import make_certificate, make_staff, pem, png_bytes
from tests.factories import (
    OrganisationFactory,
    PersonFactory,
    make_access,
    make_contact_point,
    make_message,
    make_system,
)

Role = StaffRole.Role
NAMESPACE = "adminaccess"

# What an allowed request answers: a page, or a redirect after an action. A POST whose case
# gives no real data may also find it wanting (400) or the object in the wrong state (409);
# a probe for an object the world does not build gets 404; the other method, 405.
# Never 403, never 500.
ALLOWED = {200, 302}
ALLOWED_WITHOUT_DATA = {200, 302, 400, 409}
# Rows a request may touch without that being a change: the login session and login auditing.
IGNORED_APPS = {"sessions", "axes"}


def _patterns(resolver=None, prefix="", namespace=None):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _patterns(entry, prefix + str(entry.pattern), entry.namespace or namespace)
        elif isinstance(entry, URLPattern) and namespace == NAMESPACE:
            yield entry.name, prefix + str(entry.pattern), entry


PATTERNS = {name: (route, entry) for name, route, entry in _patterns()}


class World:
    """Organisation A with one of everything its pages act on, built when first asked for."""

    def __init__(self):
        self.organisation = OrganisationFactory(name="Kommune A", technical_contact_email="drift@a.dk")
        # Someone else keeps the user-administrator role, so removing one is not the last.
        make_staff(self.organisation, Role.USER_ADMINISTRATOR, name="Anden administrator")

    @cached_property
    def sender(self) -> System:
        return make_system(self.organisation, name="ESDH")[0]

    @cached_property
    def recipient(self) -> System:
        return make_system(self.organisation, kind=System.Kind.RECIPIENT, name="Fagsystem")[0]

    @cached_property
    def deactivated(self) -> System:
        system = make_system(self.organisation, kind=System.Kind.RECIPIENT, name="Nede")[0]
        recipient_system_deactivate(system=system, reason="No delivery for seven days")
        return System.objects.get(pk=system.pk)

    @cached_property
    def clerk_role(self) -> StaffRole:
        clerk = make_staff(self.organisation, Role.CITIZEN_SERVICE, name="Sagsbehandler")
        return StaffRole.objects.get(user=clerk.user, role=Role.CITIZEN_SERVICE)

    @cached_property
    def newcomer(self):
        return PersonFactory(name="Ny medarbejder")

    @cached_property
    def citizen(self):
        return PersonFactory(name="Borger")

    @cached_property
    def citizen_access(self):
        return make_access(mailbox=self.citizen.mailbox, grantee=PersonFactory(name="Fuldmægtig"))

    @cached_property
    def held_message(self) -> Message:
        return make_message(
            sender=self.organisation,
            recipient=self.citizen,
            state=Message.State.HELD,
            value_date=date.today() + timedelta(days=10),
        )

    @cached_property
    def contact_group(self):
        from contactstructure.models import ContactGroup

        return ContactGroup.objects.create(organisation=self.organisation, label="Børn og unge")

    @cached_property
    def contact_point(self):
        return make_contact_point(self.organisation, group=self.contact_group)

    @cached_property
    def routing_rule(self):
        from contactstructure.models import RoutingRule

        return RoutingRule.objects.create(
            contact_point=self.contact_point, kle_prefix="27.24", recipient_system=self.recipient
        )

    @cached_property
    def import_job(self):
        from contactstructure.models import ImportJob

        return ImportJob.objects.create(organisation=self.organisation, file_name="k.csv", file_format="csv")


@dataclass(frozen=True)
class Case:
    """How to call one pattern: URL kwargs and POST data (both built from the world), and what
    an allowed identity must do first in its session (e.g. look a citizen up)."""

    kwargs: Callable[[World], dict] = lambda w: {}
    data: Callable[[World], dict] = lambda w: {}
    # Query parameters for the GET (a page that shows what a POST would do, e.g. a mass recall).
    query: Callable[[World], dict] = lambda w: {}
    prepare: Callable[[Client, World], object] | None = None
    # False where the kwargs only probe (no such object is built): allowed roles then get 404.
    exists: bool = True
    # True where ``data`` is what a real user would post, so an allowed POST must succeed.
    real_data: bool = False
    notes: str = field(default="", compare=False)


def _citizen_lookup(client: Client, world: World):
    return client.post(reverse("adminaccess:citizen-service"), {"number": world.citizen.cpr})


def _certificate_upload(world: World) -> dict:
    certificate, _ = make_certificate()
    return {"certificate": SimpleUploadedFile("c.pem", pem(certificate))}


def _mass_send(world: World) -> dict:
    return {"sender_system": world.sender.pk, "value_date": world.held_message.value_date.isoformat()}


_system = lambda attr: lambda w: {"pk": getattr(w, attr).pk}  # noqa: E731
_mailbox = lambda w: {"mailbox_id": w.citizen.mailbox.pk}  # noqa: E731

CASES: dict[str, Case] = {
    # Home and the organisation switcher
    "switch-organisation": Case(data=lambda w: {"organisation": w.organisation.pk}, real_data=True),
    # Systems, certificates, logo
    "systems-create": Case(
        data=lambda w: {"name": "Ny", "kind": "SENDER", "memo_version": "1.2"}, real_data=True
    ),
    "systems-detail": Case(kwargs=_system("sender"), real_data=True),
    "systems-edit": Case(
        kwargs=_system("sender"), data=lambda w: {"name": "Omdøbt", "memo_version": "1.1"}, real_data=True
    ),
    "systems-rotate-token": Case(kwargs=_system("sender"), real_data=True),
    "systems-certificate": Case(kwargs=_system("sender"), data=_certificate_upload, real_data=True),
    "systems-certificate-remove": Case(kwargs=_system("sender"), real_data=True),
    "systems-default": Case(kwargs=_system("recipient"), real_data=True),
    "systems-reactivate": Case(kwargs=_system("deactivated"), real_data=True),
    "logo": Case(data=lambda w: {"logo": SimpleUploadedFile("l.png", png_bytes())}, real_data=True),
    "logo-remove": Case(real_data=True),
    # Users and roles
    "roles-grant": Case(data=lambda w: {"cpr": w.newcomer.cpr, "role": "EVENT_LOG_READER"}, real_data=True),
    "roles-remove": Case(kwargs=lambda w: {"pk": w.clerk_role.pk}, real_data=True),
    # Recall
    "recall-one": Case(kwargs=lambda w: {"message_uuid": w.held_message.message_uuid}),
    "recall-mass": Case(query=_mass_send, data=_mass_send, real_data=True),
    # Citizen service: a mailbox is acted on only after this session looked its owner up.
    "citizen-service": Case(data=lambda w: {"number": w.citizen.cpr}, real_data=True),
    "citizen-service-party": Case(kwargs=_mailbox, prepare=_citizen_lookup),
    "citizen-service-exempt": Case(kwargs=_mailbox, prepare=_citizen_lookup),
    "citizen-service-end-exemption": Case(kwargs=_mailbox, prepare=_citizen_lookup),
    "citizen-service-grant-access": Case(kwargs=_mailbox, prepare=_citizen_lookup),
    "citizen-service-revoke-access": Case(
        kwargs=lambda w: {"mailbox_id": w.citizen.mailbox.pk, "access_id": w.citizen_access.pk},
        prepare=_citizen_lookup,
    ),
    "citizen-service-nemsms": Case(kwargs=_mailbox, prepare=_citizen_lookup),
    "citizen-service-nemsms-remove": Case(kwargs=_mailbox, prepare=_citizen_lookup),
    # Test portal: a receipt shown there needs a whole test send; probe with an unknown id.
    "test-portal-receipt": Case(kwargs=lambda w: {"receipt_id": uuid.uuid4()}, exists=False),
    # Contact structure
    "contact-structure-group-edit": Case(kwargs=lambda w: {"group_id": w.contact_group.pk}),
    "contact-structure-group-shift": Case(kwargs=lambda w: {"group_id": w.contact_group.pk}),
    "contact-structure-group-delete": Case(kwargs=lambda w: {"group_id": w.contact_group.pk}),
    "contact-structure-point-edit": Case(kwargs=lambda w: {"point_id": w.contact_point.pk}),
    "contact-structure-point-delete": Case(kwargs=lambda w: {"point_id": w.contact_point.pk}),
    "contact-structure-rule-create": Case(kwargs=lambda w: {"point_id": w.contact_point.pk}),
    "contact-structure-rule-edit": Case(
        kwargs=lambda w: {"point_id": w.contact_point.pk, "rule_id": w.routing_rule.pk}
    ),
    "contact-structure-rule-delete": Case(
        kwargs=lambda w: {"point_id": w.contact_point.pk, "rule_id": w.routing_rule.pk}
    ),
    "contact-structure-import-job": Case(kwargs=lambda w: {"job_id": w.import_job.pk}),
    "contact-structure-import-progress": Case(kwargs=lambda w: {"job_id": w.import_job.pk}),
    "contact-structure-import-apply": Case(kwargs=lambda w: {"job_id": w.import_job.pk}),
    "contact-structure-import-restart": Case(kwargs=lambda w: {"job_id": w.import_job.pk}),
}


def _has_parameters(name: str) -> bool:
    _, entry = PATTERNS[name]
    return bool(entry.pattern.converters)


def _row_counts() -> dict[str, int]:
    """Rows per model, every model, in one query (it runs twice per request)."""
    models = [
        m
        for m in apps.get_models()
        if m._meta.app_label not in IGNORED_APPS and not m._meta.proxy and m._meta.managed
    ]
    quote = connection.ops.quote_name
    # Table names come from the models, never from input.
    sql = "SELECT " + ", ".join(f"(SELECT COUNT(*) FROM {quote(m._meta.db_table)})" for m in models)  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql)
        counts = cursor.fetchone()
    return {m._meta.label: count for m, count in zip(models, counts, strict=True)}


def _identities(world: World) -> dict[str, tuple[object, bool]]:
    """name -> (person, is of organisation A). One person per role, and the outsiders."""
    people = {
        role: (make_staff(world.organisation, role, name=f"Staff {role}"), True) for role in Role.values
    }
    people["no role"] = (PersonFactory(name="Logged in, no role"), True)
    other = OrganisationFactory(name="Kommune B")
    people["staff of another organisation"] = (make_staff(other, *STAFF_ROLES, name="Staff of B"), False)
    return people


def _request(client: Client, method: str, url: str, case: Case, world: World, prepare: bool):
    """One request in a savepoint that is rolled back; returns it and the models whose row count
    it changed."""
    with transaction.atomic():
        if prepare and case.prepare is not None:
            case.prepare(client, world)
        data = case.data(world) if method == "post" else case.query(world)
        before = _row_counts()
        response = getattr(client, method)(url, data)
        after = _row_counts()
        changed = sorted(label for label in after if after[label] != before.get(label))
        transaction.set_rollback(True)
    return response, changed


def test_every_pattern_is_checked_here():
    unknown = sorted(name for name in PATTERNS if _has_parameters(name) and name not in CASES)
    assert unknown == [], (
        f"Add these URL patterns to CASES in {__file__} (how to build their URL kwargs): {unknown}"
    )
    stale = sorted(name for name in CASES if name not in PATTERNS)
    assert stale == [], f"CASES names patterns that no longer exist: {stale}"


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_every_view_checks_staff_roles(name):
    _, entry = PATTERNS[name]
    assert hasattr(entry.callback, "staff_roles"), f"{name}: decorate the view with @staff_required(...)"


def test_each_menu_section_is_shown_to_exactly_the_roles_its_page_lets_in():
    for section in SECTIONS:
        name = section.url_name.removeprefix(f"{NAMESPACE}:")
        if name not in PATTERNS:
            continue
        declared = set(PATTERNS[name][1].callback.staff_roles)
        assert declared == set(section.roles), section.url_name


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_only_the_declared_roles_get_through(name):
    route, entry = PATTERNS[name]
    if _has_parameters(name) and name not in CASES:
        pytest.fail(f"{name} ({route}) has URL parameters and no entry in CASES: add one.")
    case = CASES.get(name, Case())
    declared = set(getattr(entry.callback, "staff_roles", None) or ()) or set(STAFF_ROLES)
    world = World()
    url = reverse(f"{NAMESPACE}:{name}", kwargs=case.kwargs(world))
    # Build what the data names now, outside the savepoints rolled back below.
    case.data(world), case.query(world)
    scoped = _has_parameters(name)

    anonymous = Client()
    for method in ("get", "post"):
        response, changed = _request(anonymous, method, url, case, world, prepare=False)
        assert response.status_code in (302, 405), (name, method, "anonymous", response.status_code)
        if response.status_code == 302:
            assert response["Location"].startswith(reverse("login")), (name, method)
        assert not changed, (name, method, "anonymous changed rows", changed)

    allowed_methods: dict[str, bool] = {}
    identities = _identities(world)
    # The declared roles first, so a refusal can be compared with what they got.
    for who in sorted(identities, key=lambda who: who not in declared):
        person, of_a = identities[who]
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        client.force_login(person.user)
        for method in ("get", "post"):
            response, changed = _request(client, method, url, case, world, prepare=of_a)
            status, label = response.status_code, (name, method.upper(), who, response.status_code)
            if not of_a:
                # Holds every role, but in organisation B: A's objects are not found.
                if scoped:
                    # Not found, or sent elsewhere (e.g. to look the person up first): never shown.
                    assert status in (302, 403, 404, 405), label
                    assert not changed, (*label, "changed rows", changed)
                continue
            if who in declared:
                if not case.exists:
                    expected = {404}
                elif method == "get" or case.real_data:
                    expected = ALLOWED
                else:
                    expected = ALLOWED_WITHOUT_DATA
                assert status in expected | {405}, label
                allowed_methods[method] = status != 405
            else:
                assert status in (403, 405), label
                assert not changed, (*label, "changed rows", changed)
                if status == 405:
                    # A method the view does not take at all: refused for the declared roles too.
                    assert allowed_methods.get(method) is not True, label
    assert any(allowed_methods.values()), (name, "no method reached the view for a declared role")
