"""Who a mail threading into a record is to that record: its originator, staff, a participant
(a colleague of the originator, or someone the record's mails named), or a stranger."""

from __future__ import annotations

from enum import StrEnum

from gateway.db.models import Record
from gateway.model import Address, InboundMail
from gateway.routing.directory import same_organisation
from gateway.routing.route import is_internal
from gateway.usecases.services import Services


class Relation(StrEnum):
    ORIGINATOR = "originator"
    STAFF = "staff"
    PARTICIPANT = "participant"
    STRANGER = "stranger"
    NOBODY = "nobody"  # automatic mail, or no sender: the loop ignores it


def relation(services: Services, record: Record, mail: InboundMail) -> tuple[Relation, str]:
    """The sender's relation to `record`, and why."""
    sender = mail.from_addr.addr
    if mail.auto is not None or not sender or sender in services.identity.own_addresses:
        return Relation.NOBODY, "自动邮件或无发件人"
    if sender == record.from_addr:
        return Relation.ORIGINATOR, "本记录的发起人"
    rules = services.rules()
    if is_internal(sender, rules, services.identity.internal_domains):
        return Relation.STAFF, f"{sender} 是内部地址"
    if sender in named_in_record(services, record, skip=mail.message_id):
        return Relation.PARTICIPANT, f"{sender} 在本记录往来邮件的收件人或抄送中"
    shared = same_organisation(sender, record.from_addr, rules.parties)
    if shared:
        return Relation.PARTICIPANT, f"{sender} 与发起人同属 {shared}"
    return Relation.STRANGER, f"{sender} 不是本记录的发起方或参与方"


def named_in_record(services: Services, record: Record, *, skip: str = "") -> set[str]:
    """Outside addresses the record's mails named in To/Cc, and outside people who wrote to it
    (`skip`: the Message-ID of the mail being judged, which says nothing for itself)."""
    named: set[str] = set()
    for mail in record.mails:
        if mail.kind == "quarantined" or (skip and mail.message_id == skip):
            continue
        named.update(mail.to_addrs or ())
        if mail.direction == "in" and mail.from_addr:
            named.add(mail.from_addr)
    return {a for a in named if _outside(services, a)} - {record.from_addr}


def relay_cc(services: Services, record: Record, already: set[str]) -> list[Address]:
    """Who gets a copy of what is relayed to the originator: the outside addresses the
    originator's own mails had in To/Cc (they were in the conversation from the start)."""
    wanted: list[str] = []
    for mail in record.mails:
        if mail.direction != "in" or mail.from_addr != record.from_addr:
            continue
        for addr in mail.to_addrs or ():
            if addr not in wanted and addr not in already and addr != record.from_addr \
                    and _outside(services, addr):
                wanted.append(addr)
    return [Address("", a) for a in wanted]


def _outside(services: Services, addr: str) -> bool:
    identity = services.identity
    if not addr or addr in identity.own_addresses or _is_gateway_alias(services, addr):
        return False
    return not is_internal(addr, services.rules(), identity.internal_domains)


def _is_gateway_alias(services: Services, addr: str) -> bool:
    # gateway+note@… and other plus-addresses of the gateway are the gateway too.
    local, _, domain = services.identity.from_addr.addr.partition("@")
    a_local, _, a_domain = addr.partition("@")
    return a_domain == domain and a_local.split("+", 1)[0] == local
