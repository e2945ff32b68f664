"""How one mail would be read and routed, storing nothing: what `gateway rules test` shows."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from gateway.errors import ParseError
from gateway.mail.parse import parse_mail
from gateway.mail.subject import parse_subject
from gateway.routing.route import route
from gateway.routing.ruleset import RuleSet


def explain_mail(raw: bytes, rules: RuleSet, internal_domains: Collection[str]) -> dict[str, Any]:
    """How one mail would be read and routed, as data plus the lines a person reads."""
    try:
        mail = parse_mail(raw)
    except ParseError as exc:
        return {"error": f"unparseable: {exc}", "decision": None,
                "lines": [f"unparseable, would be quarantined: {exc}"]}
    tag = parse_subject(mail.subject, rules.directory.words)
    decision = route(mail, tag, rules, internal_domains=internal_domains)
    lines = [
        f"subject:    {mail.subject}",
        f"from:       {mail.from_addr}",
        f"urgency:    {tag.urgency.label} ({tag.urgency.value})"
        + ("" if tag.urgency_tagged else ", no tag"),
        f"department: {tag.department or '-'}",
        f"title:      {tag.title}",
    ]
    if tag.record_id:
        lines.append(f"record id:  {tag.record_id} (a reply: threads into that record)")
    if mail.auto:
        lines.append(f"automatic:  {mail.auto.value} ({mail.auto_reason}); no acknowledgement")
    lines += decision.explain()
    return {
        "subject": mail.subject,
        "message_id": mail.message_id,
        "urgency": tag.urgency.value,
        "department": tag.department,
        "title": tag.title,
        "record_id": tag.record_id,
        "prefixes": list(tag.prefixes),
        "auto_reply": mail.auto is not None,
        "auto": mail.auto.value if mail.auto else None,
        "decision": decision.as_dict(),
        "lines": lines,
    }
