"""Statements prepared once per database connection, on PostgreSQL.

The send path runs the same few statements for every message; preparing them saves their
parse and plan on each call (see :func:`prepared`).
"""

from __future__ import annotations

import re
import uuid

from django.db import connection

#: Prepared statements one database connection keeps, at most (one per shape of message, plus
#: the recipient lookup and the credential check).
PREPARED_PER_CONNECTION = 32


def prepared(cursor, sql: str) -> str | None:
    """The name of ``sql`` prepared on this connection (preparing it the first time), or None.

    A message's statement differs from another's only in its values, as long as it has as
    many documents, files and actions (and the recipient lookup and the API's credential
    check are always the same); PostgreSQL then parses and plans it once per connection
    instead of for every send. Off where prepared statements cannot outlive a transaction:
    behind a transaction-pooling pgbouncer, which Django's ``DISABLE_SERVER_SIDE_CURSORS``
    option marks.
    """
    if connection.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS"):
        return None
    raw = connection.connection
    state = getattr(connection, "_ingest_prepared", None)
    if state is None or state[0] is not raw:  # a new connection has none of the old ones
        state = (raw, {})
        connection._ingest_prepared = state
    names = state[1]
    name = names.get(sql)
    if name is None:
        if len(names) >= PREPARED_PER_CONNECTION:
            return None
        name = f"dp_ingest_{len(names)}_{uuid.uuid4().hex[:8]}"
        numbered = iter(range(1, sql.count("%s") + 1))
        cursor.execute(f"PREPARE {name} AS " + re.sub("%s", lambda _: f"${next(numbered)}", sql))
        names[sql] = name
    return name


def execute_prepared(cursor, sql: str, params: list) -> None:
    """``cursor.execute(sql, params)``, through a statement prepared once per connection on
    PostgreSQL (see :func:`prepared`)."""
    name = prepared(cursor, sql) if connection.vendor == "postgresql" else None
    if name is None:
        cursor.execute(sql, params)
    else:
        cursor.execute(f"EXECUTE {name} ({', '.join(['%s'] * len(params))})", params)
