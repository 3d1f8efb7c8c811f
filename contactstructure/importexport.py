"""The contact structure as a spreadsheet (XLSX or CSV): one row per contact point.

Reading a file never writes: :func:`read_file` turns bytes into rows, :func:`plan_import`
checks every row against the organisation's structure and says what applying it would do.
The services apply a plan in one transaction (``contactstructure.services``).

Exporting and importing the same file changes nothing: values are written the way they are
read back, and the escape that keeps spreadsheet programs from running a cell as a formula is
undone on the way in.
"""

from __future__ import annotations

import csv
import io
import uuid
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext

from adminaccess.models import System
from contactstructure.models import (
    CITIZEN_MAX_ATTACHMENTS,
    CITIZEN_MAX_BYTES,
    ContactGroup,
    ContactPoint,
    ImportJob,
)
from contactstructure.services import (
    GROUP_PATH_SEPARATOR,
    contact_point_field_errors,
    group_label_error,
    recipient_system_error,
)
from rights.models import Organisation

#: A bigger file is refused before it is read.
MAX_FILE_BYTES = 5 * 1024 * 1024
#: More contact points than any authority has; a bigger file is refused with a message.
MAX_ROWS = 5000
#: An XLSX is a zip: refuse one that would unpack to far more than its size (a zip bomb).
MAX_XLSX_UNPACKED_BYTES = 50 * 1024 * 1024
#: Validation writes its progress to the job every this many rows.
PROGRESS_EVERY = 100

#: The columns, in the order they are exported. ``deep_link`` is for reading; import ignores it.
COLUMNS = (
    "group",
    "id",
    "label",
    "info_text",
    "keywords",
    "kle_codes",
    "field1_label",
    "field1_required",
    "field2_label",
    "field2_required",
    "max_size_bytes",
    "max_attachments",
    "visible",
    "active",
    "recipient_system",
    "deep_link",
)
READ_ONLY_COLUMNS = frozenset({"deep_link"})
IMPORT_COLUMNS = tuple(c for c in COLUMNS if c not in READ_ONLY_COLUMNS)
#: Which model field each column sets, where the names differ.
FIELD_OF_COLUMN = {"id": "contact_point_id", "visible": "is_visible", "active": "is_active"}
COLUMN_OF_FIELD = {v: k for k, v in FIELD_OF_COLUMN.items()} | {"field1_required": "field1_label"}

SHEET_TITLE = "Contact points"
LIST_SEPARATOR = ", "
YES, NO = "yes", "no"
_TRUE = {"yes", "ja", "true", "1", "x", "y", "j"}
_FALSE = {"no", "nej", "false", "0", "n"}
# Cells starting with these are run as formulas by spreadsheet programs (OWASP "CSV injection").
# A leading apostrophe is escaped too, so unescaping on import is exact.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")


class ImportFileError(Exception):
    """The file as a whole cannot be read; the message says why, for the staff member."""


def deep_link_template() -> str:
    """The absolute deep-link address with ``{key}`` where a contact point's key goes."""
    placeholder = "00000000-0000-0000-0000-000000000000"
    try:
        path = reverse("write-contact-point", args=[placeholder])
    except NoReverseMatch:
        path = f"/post/write/{placeholder}/"
    return settings.HUB_BASE_URL.rstrip("/") + path.replace(placeholder, "{key}")


def deep_link_url(contact_point: ContactPoint, template: str | None = None) -> str:
    """The absolute address a citizen follows to write straight to this contact point."""
    return (template or deep_link_template()).replace("{key}", str(contact_point.deep_link_key))


def escape_cell(value):
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def unescape_cell(value: str) -> str:
    if len(value) > 1 and value[0] == "'" and value[1:].startswith(_FORMULA_STARTS):
        return value[1:]
    return value


# --- Export -------------------------------------------------------------------------------------


def group_paths(organisation: Organisation) -> dict[int, tuple[str, ...]]:
    """Every group of the organisation by id, as the labels from the top down to it."""
    groups = {g.pk: g for g in ContactGroup.objects.filter(organisation=organisation)}
    paths: dict[int, tuple[str, ...]] = {}

    def path_of(pk: int, seen: frozenset = frozenset()) -> tuple[str, ...]:
        if pk not in paths:
            group = groups[pk]
            parent = group.parent_id
            # The database refuses a group that is its own parent; a longer loop cannot be
            # built through the services, but an export must not hang on one either.
            prefix = path_of(parent, seen | {pk}) if parent and parent not in seen else ()
            paths[pk] = (*prefix, group.label)
        return paths[pk]

    for pk in groups:
        path_of(pk)
    return paths


def _system_references(organisation: Organisation) -> dict[int, str]:
    """How the file names each system: by name, or by system id where the name is not unique."""
    systems = list(System.objects.filter(organisation=organisation))
    names = Counter(s.name for s in systems)
    return {
        s.pk: s.name if names[s.name] == 1 and not _looks_like_uuid(s.name) else str(s.system_id)
        for s in systems
    }


def _looks_like_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def export_rows(organisation: Organisation) -> list[list]:
    """The header and one row per contact point, ordered by group path and label."""
    paths = group_paths(organisation)
    systems = _system_references(organisation)
    link = deep_link_template()
    points = sorted(
        ContactPoint.objects.filter(organisation=organisation),
        key=lambda p: (paths.get(p.group_id, ()), p.label, p.contact_point_id),
    )
    rows: list[list] = [list(COLUMNS)]
    for point in points:
        rows.append(
            [
                GROUP_PATH_SEPARATOR.join(paths.get(point.group_id, ())),
                point.contact_point_id,
                point.label,
                point.info_text,
                LIST_SEPARATOR.join(point.keywords),
                LIST_SEPARATOR.join(point.kle_codes),
                point.field1_label,
                YES if point.field1_required else NO,
                point.field2_label,
                YES if point.field2_required else NO,
                point.max_size_bytes,
                point.max_attachments,
                YES if point.is_visible else NO,
                YES if point.is_active else NO,
                systems.get(point.recipient_system_id, ""),
                deep_link_url(point, link),
            ]
        )
    return rows


def export_csv(organisation: Organisation) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in export_rows(organisation):
        writer.writerow([escape_cell(value) for value in row])
    # With a byte-order mark, Excel reads the file as UTF-8 (æ, ø, å).
    return out.getvalue().encode("utf-8-sig")


def export_xlsx(organisation: Organisation) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(SHEET_TITLE)
    sheet.freeze_panes = "A2"
    for column, width in zip("ABCDEFGHIJKLMNOP", (30, 20, 30, 40, 30, 20), strict=False):
        sheet.column_dimensions[column].width = width
    header, *rows = export_rows(organisation)
    bold = Font(bold=True)
    cells = []
    for value in header:
        cell = WriteOnlyCell(sheet, value=value)
        cell.font = bold
        cells.append(cell)
    sheet.append(cells)
    for row in rows:
        sheet.append([escape_cell(value) for value in row])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# --- Reading a file -----------------------------------------------------------------------------


def detect_format(file_name: str, data: bytes) -> str:
    """``xlsx`` or ``csv``, from the name and the first bytes; anything else is refused."""
    name = file_name.lower()
    if len(data) > MAX_FILE_BYTES:
        raise ImportFileError(
            gettext("The file is %(size)s MB; at most %(max)s MB can be imported.")
            % {"size": round(len(data) / 1024 / 1024, 1), "max": MAX_FILE_BYTES // 1024 // 1024}
        )
    if not data:
        raise ImportFileError(gettext("The file is empty."))
    if name.endswith(".xlsx"):
        if not data.startswith(b"PK\x03\x04"):
            raise ImportFileError(gettext("The file is called .xlsx but is not an XLSX workbook."))
        return ImportJob.Format.XLSX
    if name.endswith(".csv"):
        if data.startswith(b"PK\x03\x04") or b"\x00" in data:
            raise ImportFileError(gettext("The file is called .csv but is not a text file."))
        return ImportJob.Format.CSV
    raise ImportFileError(gettext("Only XLSX and CSV files can be imported."))


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return YES if value else NO
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _too_many_rows() -> ImportFileError:
    return ImportFileError(
        gettext("The file has more than %(max)s rows; import at most %(max)s contact points at a time.")
        % {"max": MAX_ROWS}
    )


def read_file(data: bytes, file_format: str) -> list[tuple[int, list[str]]]:
    """The rows of the file as text, each with its row number (the header is row 1).

    Empty rows are left out. Refuses a file with more than :data:`MAX_ROWS` contact points.
    """
    rows = _read_xlsx(data) if file_format == ImportJob.Format.XLSX else _read_csv(data)
    numbered = []
    for number, cells in enumerate(rows, start=1):
        texts = [_cell_text(value) for value in cells]
        if not any(text.strip() for text in texts):
            continue
        numbered.append((number, texts))
        if len(numbered) > MAX_ROWS + 1:
            raise _too_many_rows()
    if not numbered:
        raise ImportFileError(gettext("The file is empty."))
    return numbered


def _read_csv(data: bytes) -> Iterable[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel in Danish saves "CSV" as Windows-1252 unless told otherwise.
        text = data.decode("cp1252", errors="replace")
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    try:
        return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as error:
        raise ImportFileError(
            gettext("The file is not a readable CSV file: %(error)s") % {"error": error}
        ) from None


def _read_xlsx(data: bytes) -> Iterable[tuple]:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise ImportFileError(gettext("The file is not a readable XLSX workbook.")) from None
    if unpacked > MAX_XLSX_UNPACKED_BYTES:
        raise ImportFileError(gettext("The workbook unpacks to more than 50 MB; it cannot be imported."))
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = workbook[SHEET_TITLE] if SHEET_TITLE in workbook.sheetnames else workbook.worksheets[0]
        rows = []
        for row in sheet.iter_rows(values_only=True):
            rows.append(row)
            # Empty rows are skipped later, but reading without end is refused here.
            if len(rows) > 10 * MAX_ROWS:
                raise _too_many_rows()
        workbook.close()
        return rows
    except ImportFileError:
        raise
    except Exception:  # openpyxl raises many kinds for a broken workbook
        raise ImportFileError(gettext("The file is not a readable XLSX workbook.")) from None


# --- Checking the rows --------------------------------------------------------------------------


@dataclass
class PlannedPoint:
    row: int
    values: dict  # model field values; "group" is a path of labels, () for no group
    existing: ContactPoint | None
    changed: bool


@dataclass
class Plan:
    points: list[PlannedPoint] = field(default_factory=list)
    # Paths of groups the import creates, parents before their children.
    new_groups: list[tuple[str, ...]] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    total_rows: int = 0

    def error(self, row: int, column: str, message: str) -> None:
        self.errors.append({"row": row, "column": column, "message": str(message)})

    @property
    def created(self) -> int:
        return sum(1 for p in self.points if p.existing is None)

    @property
    def updated(self) -> int:
        return sum(1 for p in self.points if p.existing is not None and p.changed)

    @property
    def unchanged(self) -> int:
        return sum(1 for p in self.points if p.existing is not None and not p.changed)


class _SystemLookup:
    def __init__(self, organisation: Organisation):
        self.organisation = organisation
        self.systems = list(System.objects.filter(organisation=organisation))
        self.by_id = {str(s.system_id): s for s in self.systems}
        self.by_name: dict[str, list[System]] = {}
        for system in self.systems:
            self.by_name.setdefault(system.name.strip().casefold(), []).append(system)

    def resolve(self, text: str, current: System | None) -> tuple[System | None, str | None]:
        if not text:
            return None, None
        system = self.by_id.get(text.lower())
        if system is None:
            # Several systems may share a name; only recipient systems can be meant.
            named = self.by_name.get(text.casefold(), [])
            recipients = [s for s in named if s.kind == System.Kind.RECIPIENT]
            if len(recipients) > 1:
                return None, gettext(
                    "Several recipient systems are called “%(name)s”; use the system id."
                ) % {"name": text}
            system = (recipients or named or [None])[0]
        if system is None:
            return None, gettext("There is no system “%(name)s” in this organisation.") % {"name": text}
        return system, recipient_system_error(organisation=self.organisation, system=system, current=current)


def _bool(text: str, default: bool) -> bool | None:
    text = text.strip().casefold()
    if not text:
        return default
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


def _int(text: str, default: int) -> int | None:
    text = text.strip()
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        return None


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def plan_import(
    *,
    organisation: Organisation,
    rows: list[tuple[int, list[str]]],
    progress: Callable[[int], None] | None = None,
) -> Plan:
    """Check every row and work out what applying the file would do. Writes nothing.

    Rows are merged into the structure: a row whose id matches an existing contact point
    updates it, any other row creates one; contact points and groups not in the file stay.
    """
    plan = Plan(total_rows=max(len(rows) - 1, 0))
    if not organisation.is_authority:
        plan.error(0, "", gettext("Only authorities have a contact structure."))
        return plan
    header_row, header = rows[0]
    names = [name.strip().lower() for name in header]
    positions: dict[str, int] = {}
    for index, name in enumerate(names):
        if not name:
            continue
        if name in positions:
            plan.error(header_row, name, gettext("This column appears twice."))
        elif name not in COLUMNS:
            plan.error(
                header_row,
                name,
                gettext("Unknown column. The columns are: %(columns)s.") % {"columns": ", ".join(COLUMNS)},
            )
        positions.setdefault(name, index)
    for name in IMPORT_COLUMNS:
        if name not in positions:
            plan.error(header_row, name, gettext("This column is missing."))
    if plan.errors:
        return plan

    paths = group_paths(organisation)
    existing_paths = set(paths.values())
    points = {p.contact_point_id: p for p in ContactPoint.objects.filter(organisation=organisation)}
    systems = _SystemLookup(organisation)
    seen_ids: dict[str, int] = {}
    new_groups: dict[tuple[str, ...], None] = {}

    for done, (number, cells) in enumerate(rows[1:], start=1):

        def cell(name: str, cells=cells) -> str:
            index = positions[name]
            return unescape_cell(cells[index]).strip() if index < len(cells) else ""

        errors: dict[str, str] = {}
        path = tuple(part.strip() for part in cell("group").split(GROUP_PATH_SEPARATOR.strip()))
        if path == ("",):
            path = ()
        for label in path:
            message = group_label_error(label)
            if message:
                errors["group"] = message
                break
        contact_point_id = cell("id")
        existing = points.get(contact_point_id)
        values = {
            "contact_point_id": contact_point_id,
            "label": cell("label"),
            "group": path,
            "info_text": cell("info_text"),
            "keywords": _split(cell("keywords")),
            "kle_codes": _split(cell("kle_codes")),
            "field1_label": cell("field1_label"),
            "field2_label": cell("field2_label"),
        }
        for name, default in (
            ("field1_required", False),
            ("field2_required", False),
            ("visible", True),
            ("active", True),
        ):
            value = _bool(cell(name), default)
            if value is None:
                errors[name] = gettext("Write yes or no.")
            values[FIELD_OF_COLUMN.get(name, name)] = value
        for name, default in (
            ("max_size_bytes", CITIZEN_MAX_BYTES),
            ("max_attachments", CITIZEN_MAX_ATTACHMENTS),
        ):
            value = _int(cell(name), default)
            if value is None:
                errors[name] = gettext("Write a whole number.")
            values[name] = value
        system, message = systems.resolve(
            cell("recipient_system"), existing.recipient_system if existing else None
        )
        if message:
            errors["recipient_system"] = message
        values["recipient_system"] = system

        field_errors = contact_point_field_errors(
            contact_point_id=contact_point_id,
            label=values["label"],
            kle_codes=values["kle_codes"],
            field1_label=values["field1_label"],
            field1_required=bool(values["field1_required"]),
            field2_label=values["field2_label"],
            field2_required=bool(values["field2_required"]),
            max_size_bytes=values["max_size_bytes"],
            max_attachments=values["max_attachments"],
        )
        for name, message in field_errors.items():
            errors.setdefault(COLUMN_OF_FIELD.get(name, name), message)
        if contact_point_id and contact_point_id in seen_ids:
            errors["id"] = gettext("Row %(row)s already has this id.") % {"row": seen_ids[contact_point_id]}
        seen_ids.setdefault(contact_point_id, number)

        for name in IMPORT_COLUMNS:  # in column order, so the report reads left to right
            if name in errors:
                plan.error(number, name, errors[name])
        if not errors:
            for depth in range(1, len(path) + 1):
                if path[:depth] not in existing_paths:
                    new_groups.setdefault(path[:depth], None)
            changed = existing is None or _differs(existing, values, paths)
            plan.points.append(PlannedPoint(row=number, values=values, existing=existing, changed=changed))
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress(done)
    plan.new_groups = sorted(new_groups, key=len)
    return plan


def _differs(point: ContactPoint, values: dict, paths: dict[int, tuple[str, ...]]) -> bool:
    for name, value in values.items():
        if name == "group":
            if paths.get(point.group_id, ()) != value:
                return True
        elif name == "recipient_system":
            if point.recipient_system_id != (value.pk if value else None):
                return True
        elif getattr(point, name) != value:
            return True
    return False
