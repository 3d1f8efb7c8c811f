"""Citizen service and the test portal (see adminaccess/urls/__init__.py).

The test portal's URLs are installed only where ``DIGITALPOST_TEST_PORTAL`` is on when the
URLs load (so production's menu has no test portal); its views check the setting again on
every request.
"""

from django.conf import settings
from django.urls import path

from adminaccess.views import citizenservice, testportal

urlpatterns = [
    path("citizen-service/", citizenservice.lookup, name="citizen-service"),
    path("citizen-service/<int:mailbox_id>/", citizenservice.party, name="citizen-service-party"),
    path("citizen-service/<int:mailbox_id>/exempt/", citizenservice.exempt, name="citizen-service-exempt"),
    path(
        "citizen-service/<int:mailbox_id>/exemption/end/",
        citizenservice.end_exemption,
        name="citizen-service-end-exemption",
    ),
    path(
        "citizen-service/<int:mailbox_id>/access/",
        citizenservice.grant_access,
        name="citizen-service-grant-access",
    ),
    path(
        "citizen-service/<int:mailbox_id>/access/<int:access_id>/revoke/",
        citizenservice.revoke_access,
        name="citizen-service-revoke-access",
    ),
    path(
        "citizen-service/<int:mailbox_id>/nemsms/", citizenservice.nemsms_set, name="citizen-service-nemsms"
    ),
    path(
        "citizen-service/<int:mailbox_id>/nemsms/remove/",
        citizenservice.nemsms_unset,
        name="citizen-service-nemsms-remove",
    ),
]

if getattr(settings, "DIGITALPOST_TEST_PORTAL", False):
    urlpatterns += [
        path("test-portal/", testportal.home, name="test-portal"),
        path("test-portal/citizens/", testportal.create_person, name="test-portal-create-person"),
        path("test-portal/companies/", testportal.create_company, name="test-portal-create-company"),
        path("test-portal/send/", testportal.send, name="test-portal-send"),
        path("test-portal/receipts/<uuid:receipt_id>/", testportal.receipt, name="test-portal-receipt"),
    ]
