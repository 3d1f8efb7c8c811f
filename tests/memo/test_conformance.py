"""The official MeMo samples get exactly the verdicts we expect, at both levels.

Every sample is valid against our schema. The rules then refuse exactly what Digital Post
has refused since 2025-09-10, or never accepted: the v1.1 Full example's three ``http://``
action URLs, and the placeholder ("Sender ID", "Recipient ID") identifiers of two v1.2
library test vectors. Nothing else in any sample breaks a rule.

The samples are reference material outside the repository (see conftest); these tests skip,
saying why, where it is absent.
"""

from __future__ import annotations

import pytest

from memo.cli import main
from memo.errors import MemoError
from memo.schema import validate_schema
from memo.validation import validate
from memo.xmlsafe import parse_tree
from tests.memo.conftest import reference_dir, sample_paths

FULL_11 = "v1.1-official/MeMo_Full_Example.xml"
PLACEHOLDER_IDS = [
    ("rules.cvr-invalid", "/Message/MessageHeader/Sender/senderID"),
    ("rules.cpr-invalid", "/Message/MessageHeader/Recipient/recipientID"),
]

#: Each sample (relative to samples/) -> its memoVersion and the rule errors as (code, path).
EXPECTED = {
    FULL_11: (
        "1.1",
        [
            ("rules.url-not-https", "/Message/MessageBody/MainDocument/Action[1]/EntryPoint/url"),
            (
                "rules.url-not-https",
                "/Message/MessageBody/AdditionalDocument[1]/Action[1]/EntryPoint/url",
            ),
            (
                "rules.url-not-https",
                "/Message/MessageBody/AdditionalDocument[2]/Action/EntryPoint/url",
            ),
        ],
    ),
    "v1.1-official/MeMo_Minimum_Example.xml": ("1.1", []),
    "v1.2/MeMo_Full_Example.xml": ("1.2", []),
    "v1.2/MeMo_Minimum_Example.xml": ("1.2", []),
    "v1.2/MeMo_NemSMS.xml": ("1.2", PLACEHOLDER_IDS),
    "v1.2/MeMo_with_attachment.xml": ("1.2", PLACEHOLDER_IDS),
}
NAMES = sorted(EXPECTED)


def sample(memo_reference, name: str) -> bytes:
    return (memo_reference / "samples" / name).read_bytes()


def test_the_expectations_cover_every_sample(memo_reference):
    found = [p.relative_to(memo_reference / "samples").as_posix() for p in sample_paths()]
    assert found == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_every_sample_is_schema_valid(memo_reference, name):
    data = sample(memo_reference, name)
    assert validate_schema(parse_tree(data)) == []
    assert validate(data, schema_only=True).errors == []


@pytest.mark.parametrize("name", NAMES)
def test_every_sample_gets_exactly_the_expected_rule_errors(memo_reference, name):
    version, expected = EXPECTED[name]
    report = validate(sample(memo_reference, name))
    assert report.xml_errors == []
    assert report.schema_errors == []
    assert [(e.code, e.path) for e in report.rule_errors] == expected
    assert report.ok is (expected == [])
    assert report.version == version


def test_the_v1_1_full_example_fails_on_exactly_its_three_http_action_urls(memo_reference):
    assert validate(sample(memo_reference, FULL_11)).errors == [
        MemoError(
            "rules",
            "/Message/MessageBody/MainDocument/Action[1]/EntryPoint/url",
            "rules.url-not-https",
            'Action URLs must be absolute https:// URLs; "http://www.tusindfryd.dk/spørgeskema.html" is not.',
        ),
        MemoError(
            "rules",
            "/Message/MessageBody/AdditionalDocument[1]/Action[1]/EntryPoint/url",
            "rules.url-not-https",
            'Action URLs must be absolute https:// URLs; "http://www.tusindfryd.dk" is not.',
        ),
        MemoError(
            "rules",
            "/Message/MessageBody/AdditionalDocument[2]/Action/EntryPoint/url",
            "rules.url-not-https",
            "Action URLs must be absolute https:// URLs; "
            '"http://registration.nemhandel.dk/NemHandelRegisterWeb/public/participant/info'
            '?key=5798009811578&keytype=GLN" is not.',
        ),
    ]


@pytest.mark.parametrize("name", ["v1.2/MeMo_NemSMS.xml", "v1.2/MeMo_with_attachment.xml"])
def test_the_library_vectors_fail_on_exactly_their_placeholder_ids(memo_reference, name):
    assert validate(sample(memo_reference, name)).errors == [
        MemoError(
            "rules",
            "/Message/MessageHeader/Sender/senderID",
            "rules.cvr-invalid",
            'A CVR number is exactly 8 digits; "Sender ID" is not.',
        ),
        MemoError(
            "rules",
            "/Message/MessageHeader/Recipient/recipientID",
            "rules.cpr-invalid",
            'A CPR number is exactly 10 digits; "Recipient ID" is not.',
        ),
    ]


def test_the_command_line_verdicts_on_the_samples(memo_reference, capsys):
    root = memo_reference / "samples"
    paths = [str(root / name) for name in NAMES]
    assert main(["validate", *paths]) == 1
    out, err = capsys.readouterr()
    full = f"{root}/{FULL_11}: /Message/MessageBody"
    sms = f"{root}/v1.2/MeMo_NemSMS.xml: /Message/MessageHeader"
    attachment = f"{root}/v1.2/MeMo_with_attachment.xml: /Message/MessageHeader"
    assert out.splitlines() == [
        f"{full}/MainDocument/Action[1]/EntryPoint/url: rules.url-not-https: Action URLs must "
        'be absolute https:// URLs; "http://www.tusindfryd.dk/spørgeskema.html" is not.',
        f"{full}/AdditionalDocument[1]/Action[1]/EntryPoint/url: rules.url-not-https: Action "
        'URLs must be absolute https:// URLs; "http://www.tusindfryd.dk" is not.',
        f"{full}/AdditionalDocument[2]/Action/EntryPoint/url: rules.url-not-https: Action URLs "
        'must be absolute https:// URLs; "http://registration.nemhandel.dk/NemHandelRegisterWeb'
        '/public/participant/info?key=5798009811578&keytype=GLN" is not.',
        f"OK {root}/v1.1-official/MeMo_Minimum_Example.xml",
        f"OK {root}/v1.2/MeMo_Full_Example.xml",
        f"OK {root}/v1.2/MeMo_Minimum_Example.xml",
        f'{sms}/Sender/senderID: rules.cvr-invalid: A CVR number is exactly 8 digits; "Sender ID" is not.',
        f"{sms}/Recipient/recipientID: rules.cpr-invalid: A CPR number is exactly 10 digits; "
        '"Recipient ID" is not.',
        f"{attachment}/Sender/senderID: rules.cvr-invalid: A CVR number is exactly 8 digits; "
        '"Sender ID" is not.',
        f"{attachment}/Recipient/recipientID: rules.cpr-invalid: A CPR number is exactly 10 "
        'digits; "Recipient ID" is not.',
    ]
    assert err == ""


def test_the_command_line_finds_every_sample_schema_valid(memo_reference, capsys):
    paths = [str(memo_reference / "samples" / name) for name in NAMES]
    assert main(["validate", "--schema-only", *paths]) == 0
    assert capsys.readouterr().out.splitlines() == [f"OK {path}" for path in paths]


def test_the_reference_location_is_reported_when_missing(monkeypatch, tmp_path):
    monkeypatch.setenv("MEMO_REFERENCE_DIR", str(tmp_path / "nowhere"))
    assert reference_dir() == tmp_path / "nowhere"
    assert sample_paths() == []
