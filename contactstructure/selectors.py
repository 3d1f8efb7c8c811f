"""Reads of the contact structure, as citizens and companies see it when they write.

Only what a writer may use is ever returned: active, visible contact points of authorities,
in groups that are visible all the way up. A point in a hidden group is hidden too.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field

from django.db.models import Q

from contactstructure.models import ContactGroup, ContactPoint
from rights.models import Organisation

#: Suggestions shown while typing; the plain search shows a longer list.
SUGGESTIONS = 8


def _writable_points():
    return ContactPoint.objects.filter(
        is_active=True, is_visible=True, organisation__kind=Organisation.Kind.AUTHORITY
    )


def _hidden_group_ids(organisation_ids: set[int]) -> set[int]:
    """Groups of these organisations that are hidden themselves or under a hidden group."""
    groups = {
        pk: (parent_id, visible)
        for pk, parent_id, visible in ContactGroup.objects.filter(
            organisation_id__in=organisation_ids
        ).values_list("pk", "parent_id", "is_visible")
    }
    hidden: set[int] = set()
    for pk in groups:
        seen, current = set(), pk
        # Walk up; the seen set stops a cycle (which the data should never hold).
        while current is not None and current not in seen:
            seen.add(current)
            parent_id, visible = groups.get(current, (None, True))
            if not visible:
                hidden.add(pk)
                break
            current = parent_id
    return hidden


def contact_point_for_writing(*, key: uuid.UUID) -> ContactPoint | None:
    """The contact point behind a deep link, if a citizen or company may write to it now."""
    point = _writable_points().filter(deep_link_key=key).select_related("organisation", "group").first()
    if point is None:
        return None
    if point.group_id is not None and point.group_id in _hidden_group_ids({point.organisation_id}):
        return None
    return point


def contact_points_search(query: str, *, limit: int = SUGGESTIONS) -> list[ContactPoint]:
    """Contact points whose label, keywords or authority name contain every word of ``query``.

    The words are matched in Python with ``casefold``: SQLite compares only ASCII letters
    without case and stores JSON lists with other letters escaped, so "bøde" would never match
    a keyword there in SQL. SQL first narrows the candidates by the runs of ASCII letters and
    digits in the query, which both databases match alike. Best first: a label that starts
    with the query, then a label that contains it, then the rest.
    """
    words = query.casefold().split()
    if not words:
        return []
    needle = " ".join(words)
    candidates = _writable_points()
    # Runs of ASCII letters and digits as typed: both databases find these alike.
    for word in set(re.findall(r"[A-Za-z0-9]{2,}", query)):
        candidates = candidates.filter(
            Q(label__icontains=word) | Q(keywords__icontains=word) | Q(organisation__name__icontains=word)
        )
    ranked = []
    for pk, label, keywords, organisation_name, group_id, organisation_id in candidates.values_list(
        "pk", "label", "keywords", "organisation__name", "group_id", "organisation_id"
    ):
        label_text = label.casefold()
        haystack = " ".join(
            [label_text, organisation_name.casefold(), *(str(k).casefold() for k in keywords)]
        )
        if not all(word in haystack for word in words):
            continue
        rank = 0 if label_text.startswith(needle) else 1 if needle in label_text else 2
        ranked.append((rank, label_text, pk, group_id, organisation_id))
    ranked.sort()
    hidden = _hidden_group_ids({organisation_id for *_, organisation_id in ranked})
    chosen = [pk for _, _, pk, group_id, _ in ranked if group_id not in hidden][:limit]
    points = ContactPoint.objects.filter(pk__in=chosen).select_related("organisation", "group")
    by_pk = {p.pk: p for p in points}
    return [by_pk[pk] for pk in chosen]


def authorities_to_write_to() -> list[Organisation]:
    """Authorities with at least one contact point a writer may use, by name."""
    return list(
        Organisation.objects.filter(
            kind=Organisation.Kind.AUTHORITY, pk__in=_writable_points().values("organisation_id")
        ).order_by("name")
    )


@dataclass
class GroupNode:
    group: ContactGroup
    children: list[GroupNode] = field(default_factory=list)
    points: list[ContactPoint] = field(default_factory=list)


@dataclass
class ContactTree:
    organisation: Organisation
    groups: list[GroupNode]
    # Points in no group, shown beside the top-level groups.
    points: list[ContactPoint]

    @property
    def is_empty(self) -> bool:
        return not (self.groups or self.points)


def contact_group_tree(organisation: Organisation) -> ContactTree:
    """The organisation's visible groups (with info texts) and writable points, as a tree.

    Groups with nothing to write to anywhere beneath them are left out. Two queries.
    """
    groups = list(ContactGroup.objects.filter(organisation=organisation, is_visible=True))
    points = list(_writable_points().filter(organisation=organisation).select_related("organisation"))
    nodes = {g.pk: GroupNode(g) for g in groups}
    loose = []
    for point in points:
        if point.group_id is None:
            loose.append(point)
        elif point.group_id in nodes:
            nodes[point.group_id].points.append(point)
        # else: its group is hidden, so the point is too.
    top = []
    for group in groups:
        node = nodes[group.pk]
        if group.parent_id is None:
            top.append(node)
        elif group.parent_id in nodes:
            nodes[group.parent_id].children.append(node)
        # else: under a hidden group; not reachable.

    def prune(branch: list[GroupNode]) -> list[GroupNode]:
        kept = []
        for node in branch:
            node.children = prune(node.children)
            if node.children or node.points:
                kept.append(node)
        return kept

    return ContactTree(organisation=organisation, groups=prune(top), points=loose)
