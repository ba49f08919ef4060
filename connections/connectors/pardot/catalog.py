"""The API v5 objects Sluice reads and their fields (v5 returns only the fields named in `fields=`,
so the list is explicit). Field names and types from the v5 object references
(developer.salesforce.com/docs/marketing/pardot/guide/<object>-v5.html); dates are ISO 8601 text
with the account's offset, kept as Pardot sent them."""

from __future__ import annotations

from dataclasses import dataclass

S, N, D, B, T = "string", "integer", "double", "boolean", "datetime"


@dataclass(frozen=True)
class PardotObject:
    path: str  # below /api/v5/objects/
    label: str
    fields: tuple[tuple[str, str], ...]
    # the timestamp field incremental runs use, and whether Pardot filters on it
    # (<field>AfterOrEqualTo / <field>BeforeOrEqualTo); otherwise the window is applied here
    incremental: str = "updatedAt"
    pushed_window: bool = True


OBJECTS: dict[str, PardotObject] = {
    "prospects": PardotObject("prospects", "Prospects", (
        ("id", N), ("email", S), ("firstName", S), ("lastName", S), ("company", S), ("jobTitle", S),
        ("phone", S), ("city", S), ("state", S), ("country", S), ("score", N), ("grade", S),
        ("campaignId", N), ("assignedUserId", N), ("salesforceId", S), ("optedOut", B),
        ("isDoNotEmail", B), ("isDeleted", B), ("lastActivityAt", T), ("createdAt", T), ("updatedAt", T),
    )),
    "campaigns": PardotObject("campaigns", "Campaigns", (
        ("id", N), ("name", S), ("cost", N), ("folderId", N), ("salesforceId", S), ("isDeleted", B),
        ("createdById", N), ("updatedById", N), ("createdAt", T), ("updatedAt", T),
    )),
    "lists": PardotObject("lists", "Lists", (
        ("id", N), ("name", S), ("title", S), ("description", S), ("isDynamic", B), ("isPublic", B),
        ("folderId", N), ("campaignId", N), ("isDeleted", B), ("createdAt", T), ("updatedAt", T),
    )),
    "list-memberships": PardotObject("list-memberships", "List memberships", (
        ("id", N), ("listId", N), ("prospectId", N), ("optedOut", B), ("isDeleted", B),
        ("createdAt", T), ("updatedAt", T),
    )),
    "opportunities": PardotObject("opportunities", "Opportunities", (
        ("id", N), ("name", S), ("value", D), ("probability", N), ("type", S), ("stage", S),
        ("status", S), ("closedAt", T), ("campaignId", N), ("salesforceId", S), ("createdAt", T),
        ("updatedAt", T),
    )),
    "visitor-activities": PardotObject("visitor-activities", "Visitor activities", (
        ("id", N), ("type", N), ("typeName", S), ("details", S), ("prospectId", N), ("visitorId", N),
        ("campaignId", N), ("emailId", N), ("formId", N), ("createdAt", T), ("updatedAt", T),
    )),
    # emails (sent list and one-to-one emails) have no updatedAt: the window is on sentAt, applied here
    "emails": PardotObject("emails", "Emails", (
        ("id", N), ("name", S), ("subject", S), ("campaignId", N), ("listId", N), ("prospectId", N),
        ("clientType", S), ("isOperational", B), ("sentAt", T),
    ), incremental="sentAt", pushed_window=False),
    "forms": PardotObject("forms", "Forms", (
        ("id", N), ("name", S), ("campaignId", N), ("folderId", N), ("embedCode", S), ("isDeleted", B),
        ("createdAt", T), ("updatedAt", T),
    )),
    "users": PardotObject("users", "Users", (
        ("id", N), ("email", S), ("firstName", S), ("lastName", S), ("jobTitle", S), ("role", S),
        ("salesforceId", S), ("isDeleted", B), ("createdAt", T), ("updatedAt", T),
    )),
}
