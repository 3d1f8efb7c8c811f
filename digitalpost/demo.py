"""The demo world that `make run` seeds: who exists, and how to log in as each of them.

Fixed identifiers (and, for the demo only, fixed API tokens) so the README, the start-up
banner and a newcomer's curl commands stay the same from run to run.
"""

from __future__ import annotations

import uuid

AUTHORITY = {"cvr": "12345678", "name": "Eksempel Kommune"}
SECOND_AUTHORITY = {"cvr": "23456789", "name": "Eksempel Styrelse"}
COMPANY = {"cvr": "87654321", "name": "Demo Byg ApS"}

CITIZEN = {
    "cpr": "0101801234",
    "name": "Anna Andersen",
    "email": "anna@example.dk",
    "address": "Anna Andersen\nEksempelvej 1\n8000 Aarhus C",
}
REPRESENTATIVE = {
    "cpr": "0202802345",
    "name": "Bent Bentsen",
    "email": "bent@example.dk",
    "address": "Bent Bentsen\nEksempelvej 2\n8000 Aarhus C",
}
EXEMPT_CITIZEN = {
    "cpr": "0303803456",
    "name": "Carla Christensen",
    "address": "Carla Christensen\nLandevejen 3\n7100 Vejle",
}
EMPLOYEE = {
    "cpr": "0404804567",
    "name": "Dennis Dahl",
    "email": "dennis@demobyg.example.dk",
    "address": "Dennis Dahl\nByvej 4\n5000 Odense C",
}
STAFF = {
    "cpr": "0505805678",
    "name": "Eva Eriksen (sagsbehandler)",
    "email": "eva@kommune.example.dk",
    "address": "",
}

SENDER_SYSTEM_ID = uuid.UUID("00000000-0000-4000-8000-00000000a001")
SENDER_TOKEN = "demo-sender-token-not-for-production"  # noqa: S105
RECIPIENT_SYSTEM_ID = uuid.UUID("00000000-0000-4000-8000-00000000b001")
RECIPIENT_TOKEN = "demo-recipient-token-not-for-production"  # noqa: S105
