"""Danish by default, English available, and the Danish catalogue complete and compiled."""

import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings

from digitalpost.settings import base

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "da" / "LC_MESSAGES"


def _po_entries(text: str) -> list[tuple[str, str, list[str]]]:
    """(msgid, flags, msgstrs) for each entry of a .po file; enough of the format for a check."""
    entries = []
    for block in text.strip().split("\n\n"):
        flags = " ".join(line for line in block.splitlines() if line.startswith("#,"))
        msgid, msgstrs, current = [], [], None
        for line in block.splitlines():
            if line.startswith("msgid "):
                current = msgid
            elif line.startswith("msgstr"):
                msgstrs.append([])
                current = msgstrs[-1]
            elif line.startswith("msgid_plural"):
                current = None
            if current is not None and '"' in line:
                current.append(line[line.index('"') + 1 : line.rindex('"')])
        entries.append(("".join(msgid), flags, ["".join(s) for s in msgstrs]))
    return entries[1:]  # the first entry is the header


def test_the_product_default_is_danish_with_english_available():
    assert base.LANGUAGE_CODE == "da"
    assert dict(base.LANGUAGES) == {"da": "Dansk", "en": "English"}


def test_every_string_has_a_danish_translation_and_none_is_fuzzy():
    entries = _po_entries((CATALOGUE / "django.po").read_text(encoding="utf-8"))

    assert len(entries) > 500
    untranslated = [msgid for msgid, _, msgstrs in entries if not all(msgstrs)]
    fuzzy = [msgid for msgid, flags, _ in entries if "fuzzy" in flags]
    assert untranslated == [] and fuzzy == []


def test_the_compiled_catalogue_matches_the_source():
    entries = _po_entries((CATALOGUE / "django.po").read_text(encoding="utf-8"))
    with (CATALOGUE / "django.mo").open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)

    singular = [(msgid, msgstrs[0]) for msgid, _, msgstrs in entries if len(msgstrs) == 1]
    stale = [msgid for msgid, msgstr in singular if compiled.gettext(_unescape(msgid)) != _unescape(msgstr)]
    assert stale == [], "run `make messages` to compile the catalogue"


def _unescape(value: str) -> str:
    return re.sub(r'\\(["\\nt])', lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), value)


@pytest.mark.django_db
@override_settings(LANGUAGE_CODE="da")
def test_pages_are_danish_by_default_and_english_on_request(client):
    danish = client.get("/login/")
    english = client.get("/login/", HTTP_ACCEPT_LANGUAGE="en")

    assert '<html lang="da">' in danish.text and "Log ind" in danish.text
    assert '<html lang="en">' in english.text and "Log in" in english.text
