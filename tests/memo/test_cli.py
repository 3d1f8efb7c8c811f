"""The command line, ``python -m memo validate|show``, run in-process and once for real."""

from __future__ import annotations

import subprocess
import sys

import pytest

from memo.cli import main
from memo.xmlsafe import MEMO_NS
from tests.memo.conftest import REPO_ROOT
from tests.memo.test_rules import (
    action_xml,
    body_xml,
    document,
    file_xml,
    message,
    reservation_xml,
)


@pytest.fixture
def files(tmp_path):
    """A good message, one that breaks two rules, and one that is not XML."""
    good = tmp_path / "good.xml"
    good.write_bytes(message())
    bad = tmp_path / "bad.xml"
    bad.write_bytes(
        message(
            recipient_id="Recipient ID",
            body=body_xml(document(actions=(action_xml("http://www.borger.dk"),))),
        )
    )
    broken = tmp_path / "broken.xml"
    broken.write_bytes(b"")
    return good, bad, broken


BAD_LINES = [
    "/Message/MessageHeader/Recipient/recipientID: rules.cpr-invalid: "
    'A CPR number is exactly 10 digits; "Recipient ID" is not.',
    "/Message/MessageBody/MainDocument/Action/EntryPoint/url: rules.url-not-https: "
    'Action URLs must be absolute https:// URLs; "http://www.borger.dk" is not.',
]


def run(capsys, *argv: str) -> tuple[int, list[str], str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out.splitlines(), err


# --- validate -------------------------------------------------------------------------------


def test_validate_prints_ok_and_exits_0_for_a_valid_file(capsys, files):
    good, _, _ = files
    assert run(capsys, "validate", str(good)) == (0, [f"OK {good}"], "")


def test_validate_prints_one_line_per_error_and_exits_1(capsys, files):
    _, bad, _ = files
    assert run(capsys, "validate", str(bad)) == (1, [f"{bad}: {line}" for line in BAD_LINES], "")


def test_validate_reports_xml_errors_at_the_root(capsys, files):
    _, _, broken = files
    assert run(capsys, "validate", str(broken)) == (
        1,
        [f"{broken}: /: xml.empty: The document is empty."],
        "",
    )


def test_validate_checks_every_file_and_fails_if_any_fails(capsys, files):
    good, bad, broken = files
    status, lines, err = run(capsys, "validate", str(good), str(bad), str(broken))
    assert status == 1
    assert lines == [
        f"OK {good}",
        *[f"{bad}: {line}" for line in BAD_LINES],
        f"{broken}: /: xml.empty: The document is empty.",
    ]
    assert err == ""


def test_validate_schema_only_ignores_the_rules(capsys, files):
    good, bad, _ = files
    assert run(capsys, "validate", "--schema-only", str(good), str(bad)) == (
        0,
        [f"OK {good}", f"OK {bad}"],
        "",
    )


def test_validate_reports_schema_errors(capsys, tmp_path):
    path = tmp_path / "nolabel.xml"
    path.write_bytes(message().replace(b"<memo:label>Brev fra kommunen</memo:label>", b""))
    assert run(capsys, "validate", "--schema-only", str(path)) == (
        1,
        [
            f"{path}: /Message/MessageHeader/Sender: schema.unexpected-element: "
            "Sender is not allowed here; expected one of messageID, messageCode, label."
        ],
        "",
    )


def test_validate_exits_2_for_an_unreadable_file_but_checks_the_others(capsys, files, tmp_path):
    good, bad, _ = files
    missing = tmp_path / "missing.xml"
    status, lines, err = run(capsys, "validate", str(missing), str(bad), str(tmp_path), str(good))
    assert status == 2
    assert lines == [*[f"{bad}: {line}" for line in BAD_LINES], f"OK {good}"]
    assert err.splitlines() == [
        f"memo: cannot read {missing}: No such file or directory",
        f"memo: cannot read {tmp_path}: Is a directory",
    ]


@pytest.mark.parametrize(
    "argv",
    [[], ["validate"], ["frobnicate"], ["show"], ["show", "a.xml", "b.xml"], ["validate", "--x"]],
    ids=["nothing", "no-files", "unknown-command", "show-nothing", "show-two", "unknown-option"],
)
def test_usage_errors_exit_2_with_usage_on_stderr(capsys, argv):
    status, lines, err = run(capsys, *argv)
    assert status == 2
    assert lines == []
    assert err.startswith("usage: python -m memo")


def test_help_exits_0(capsys):
    status, lines, _ = run(capsys, "--help")
    assert status == 0
    assert lines[0].startswith("usage: python -m memo")


# --- show -----------------------------------------------------------------------------------


MAIN = document(
    files=(file_xml("Brev.pdf"), file_xml("Brev.txt", "text/plain", "QUJD")),
    actions=(reservation_xml(), action_xml("https://www.borger.dk/")),
).replace(
    "<memo:MainDocument>",
    "<memo:MainDocument><memo:mainDocumentID>456</memo:mainDocumentID><memo:label>Tilbud</memo:label>",
)
FULL = f"""<memo:Message xmlns:memo="{MEMO_NS}" memoVersion="1.1" memoSchVersion="1.1.0">
<memo:MessageHeader>
  <memo:messageType>DIGITALPOST</memo:messageType>
  <memo:messageUUID>8C2EA15D-61FB-4BA9-9366-42F8B194C114</memo:messageUUID>
  <memo:label>Besked fra Børneforvaltningen</memo:label>
  <memo:notification>Du har fået post</memo:notification>
  <memo:reply>true</memo:reply>
  <memo:replyByDateTime>2025-09-30T12:00:00Z</memo:replyByDateTime>
  <memo:doNotDeliverUntilDate>2025-09-15</memo:doNotDeliverUntilDate>
  <memo:mandatory>true</memo:mandatory>
  <memo:legalNotification>false</memo:legalNotification>
  <memo:Sender><memo:senderID>12345678</memo:senderID><memo:idType>CVR</memo:idType>
    <memo:label>Kommunen</memo:label></memo:Sender>
  <memo:Recipient><memo:recipientID>2211771212</memo:recipientID><memo:idType>CPR</memo:idType>
    <memo:label>Mette Hansen</memo:label></memo:Recipient>
</memo:MessageHeader>
{
    body_xml(
        MAIN,
        document("AdditionalDocument", files=(file_xml("Bilag.docx", content="!!"),)),
        document("TechnicalDocument", files=(file_xml("data.xml", "text/xml", "", "en"),)),
    )
}
</memo:Message>"""

FULL_SUMMARY = [
    "Message type:       DIGITALPOST",
    "UUID:               8c2ea15d-61fb-4ba9-9366-42f8b194c114",
    "MeMo version:       1.1 (memoSchVersion 1.1.0)",
    "Sender:             12345678 (CVR) Kommunen",
    "Recipient:          2211771212 (CPR) Mette Hansen",
    "Label:              Besked fra Børneforvaltningen",
    "Notification:       Du har fået post",
    "Value date:         2025-09-15",
    "Reply allowed:      yes",
    "Reply by:           2025-09-30T12:00:00Z",
    "Mandatory:          yes",
    "Legal notification: no",
    "Documents:",
    "  Main document: Tilbud (id 456)",
    "    File Brev.pdf (application/pdf, da, 14 bytes)",
    "    File Brev.txt (text/plain, da, 3 bytes)",
    "    Action Book tid [AFTALE] reservation: Samtale, 2025-10-01T08:00:00Z to "
    "2025-10-01T09:00:00Z at Rådhuset",
    "    Action Læs mere [INFORMATION] -> https://www.borger.dk/",
    "  Additional document 1",
    "    File Bilag.docx (application/pdf, da, content is not valid base64)",
    "  Technical document 1",
    "    File data.xml (text/xml, en, 0 bytes)",
]


def test_show_prints_a_readable_summary(capsys, tmp_path):
    path = tmp_path / "full.xml"
    path.write_text(FULL, encoding="utf-8")
    assert run(capsys, "show", str(path)) == (0, FULL_SUMMARY, "")


def test_show_marks_a_message_without_body_and_absent_flags(capsys, tmp_path):
    path = tmp_path / "sms.xml"
    path.write_bytes(message(message_type="NEMSMS", notification="Husk din tid", body=None))
    assert run(capsys, "show", str(path)) == (
        0,
        [
            "Message type:       NEMSMS",
            "UUID:               0f8fad5b-d9cb-469f-a165-70867728950e",
            "MeMo version:       1.2",
            "Sender:             12345678 (CVR) Kommunen",
            "Recipient:          2211771212 (CPR)",
            "Label:              Brev fra kommunen",
            "Notification:       Husk din tid",
            "Value date:         -",
            "Reply allowed:      -",
            "Reply by:           -",
            "Mandatory:          -",
            "Legal notification: -",
            "Documents:          none (no MessageBody)",
        ],
        "",
    )


def test_show_spells_out_control_characters_from_the_file(capsys, tmp_path):
    path = tmp_path / "sneaky.xml"
    # XML forbids ESC, but allows the C1 CSI (which some terminals obey) and bidi overrides.
    path.write_bytes(message(notification="line 1\nFAKE: \u009b31m \u202eevil"))
    _, lines, _ = run(capsys, "show", str(path))
    assert "Notification:       line 1\\nFAKE: \\x9b31m \\u202eevil" in lines


def test_show_exits_1_with_the_error_for_an_unreadable_message(capsys, files, tmp_path):
    _, _, broken = files
    assert run(capsys, "show", str(broken)) == (
        1,
        [f"{broken}: /: xml.empty: The document is empty."],
        "",
    )
    path = tmp_path / "baddate.xml"
    path.write_bytes(message().replace(b"2025-09-15T10:00:00Z", b"yesterday"))
    status, lines, _ = run(capsys, "show", str(path))
    assert status == 1
    assert lines[0].startswith(f"{path}: /Message/MessageBody/createdDateTime: memo.unreadable-value: ")


def test_show_exits_2_for_a_missing_file(capsys, tmp_path):
    missing = tmp_path / "missing.xml"
    assert run(capsys, "show", str(missing)) == (
        2,
        [],
        f"memo: cannot read {missing}: No such file or directory\n",
    )


# --- For real -------------------------------------------------------------------------------


def test_python_dash_m_memo_runs_the_cli(files):
    good, bad, _ = files
    result = subprocess.run(
        [sys.executable, "-m", "memo", "validate", str(good), str(bad)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout.splitlines() == [f"OK {good}", *[f"{bad}: {line}" for line in BAD_LINES]]
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("inner", "expected"),
    [
        (
            "",
            [
                "MeMo version:       1.2",
                "Header:             - (no MessageHeader)",
                "Documents:          none (no MessageBody)",
            ],
        ),
        (
            "<MessageHeader/><MessageBody><MainDocument><File/><Action/></MainDocument></MessageBody>",
            [
                "Message type:       -",
                "UUID:               -",
                "MeMo version:       1.2",
                "Sender:             -",
                "Recipient:          -",
                "Label:              -",
                "Value date:         -",
                "Reply allowed:      -",
                "Reply by:           -",
                "Mandatory:          -",
                "Legal notification: -",
                "Documents:",
                "  Main document",
                "    File - (-, -, no content)",
                "    Action - [-]",
            ],
        ),
    ],
    ids=["empty-message", "hollow-parts"],
)
def test_show_summarises_a_schema_invalid_message_without_failing(capsys, tmp_path, inner, expected):
    path = tmp_path / "hollow.xml"
    path.write_text(f'<Message xmlns="{MEMO_NS}" memoVersion="1.2">{inner}</Message>')
    assert run(capsys, "show", str(path)) == (0, expected, "")
