"""Auto-replies: RFC 3834 and X-Loop rules (pure), and real exchanges that must stop by themselves."""

from __future__ import annotations

import re
from email.mime.text import MIMEText
from email.utils import formatdate, make_msgid

import pytest
from mailmaker import gbk_mail
from paths import ROOT
from sqlalchemy import select

from gateway.config import load_settings
from gateway.db.models import Mail
from gateway.identity import Identity
from gateway.mail.parse import parse_mail
from gateway.model import Address, FetchedMail
from gateway.outgoing.autoreply import AutoReplyCap, may_answer
from gateway.runtime.assembly import Gateway
from gateway.usecases.services import Disposition

ME = Identity(Address("网关", "gateway@corp.example"), "gateway.corp.example", frozenset())
CAP = AutoReplyCap(limit=5)


class Arrived:
    """A mail source whose mails all arrived together: one fetch hands them out."""

    name = "arrived"

    def __init__(self, mails: list[FetchedMail]):
        self._mails = list(mails)

    def fetch(self, limit: int = 200) -> list[FetchedMail]:
        handed, self._mails = self._mails[:limit], self._mails[limit:]
        return handed

    def settle(self, done) -> None:
        pass

    def wait(self, timeout: float) -> bool:
        return False

    def close(self) -> None:
        pass


@pytest.mark.parametrize("headers, to, recent, allowed, why", [
    ({}, "wang@customer.example", 0, True, "of 5"),
    ({}, "wang@customer.example", 4, True, "4 of 5"),
    ({}, "wang@customer.example", 5, False, "cap is 5"),
    ({"Auto-Submitted": "auto-replied"}, "wang@customer.example", 0, False, "automatic"),
    ({"Auto-Submitted": "auto-generated"}, "wang@customer.example", 0, False, "automatic"),
    ({"Auto-Submitted": "no"}, "wang@customer.example", 0, True, "of 5"),
    ({"Precedence": "bulk"}, "wang@customer.example", 0, False, "automatic"),
    ({"List-Id": "<x.lists.example>"}, "wang@customer.example", 0, False, "automatic"),
    ({"X-Loop": "gateway@corp.example"}, "wang@customer.example", 0, False, "gateway itself"),
    ({}, "gateway@corp.example", 0, False, "gateway itself"),
    ({}, "owner-staff@lists.example", 0, False, "RFC 3834"),
    ({}, "staff-request@lists.example", 0, False, "RFC 3834"),
    ({}, "noreply@shop.example", 0, False, "RFC 3834"),
    ({}, "", 0, False, "no address"),
])
def test_who_may_get_an_automatic_answer(headers, to, recent, allowed, why):
    mail = parse_mail(gbk_mail("设备故障", headers=tuple(headers.items())))
    decided = may_answer(mail, to, ME, recent, CAP)
    assert decided.allowed is allowed and why in decided.reason


def make_gateway(tmp_path, name, account, smtp, clock, monkeypatch):
    monkeypatch.setenv(f"PW_{name}", account.password)
    settings = load_settings(None, overrides={
        "gateway": {"domain": f"gw-{name}.example", "rules_dir": str(ROOT / "rules"),
                    "templates_dir": str(ROOT / "templates"),
                    "storage_dir": str(tmp_path / name)},
        "mailbox": {"kind": "imap", "host": account.host, "port": account.port, "tls": "none",
                    "user": account.user, "password_env": f"PW_{name}"},
        "smtp": {"host": smtp.host, "port": smtp.port, "tls": "none",
                 "from": f"网关{name} <gateway@gw-{name}.example>"},
    })
    return Gateway(settings, clock=clock)


def strip_robot_headers(raw: bytes) -> bytes:
    """What a careless relay or responder does: drop every sign that a robot wrote the mail."""
    head, _, body = raw.partition(b"\r\n\r\n")
    kept = [line for line in re.split(rb"\r\n(?![ \t])", head) if not re.match(
        rb"(?i)(auto-submitted|x-auto-response-suppress|x-loop|in-reply-to|references|"
        rb"message-id|subject):", line)]
    return b"\r\n".join([*kept, b"Subject: hello", f"Message-ID: {make_msgid()}".encode()]
                        ) + b"\r\n\r\n" + body


@pytest.mark.integration
@pytest.mark.parametrize("careless", [False, True], ids=["headers-kept", "headers-stripped"])
def test_two_gateways_answering_each_other_stop_within_a_handful(
        tmp_path, dovecot, imap_account, smtp_capture, clock, monkeypatch, careless):
    other = dovecot.add_user(f"b-{imap_account.user}", "b-secret")
    gateways = {"a": make_gateway(tmp_path, "a", imap_account, smtp_capture, clock, monkeypatch),
                "b": make_gateway(tmp_path, "b", other, smtp_capture, clock, monkeypatch)}
    accounts = {"gateway@gw-a.example": imap_account, "gateway@gw-b.example": other}
    sources = {k: g.make_source() for k, g in gateways.items()}
    # B's gateway writes to A, as if A's address were one of B's department mailboxes.
    imap_account.append(gbk_mail("设备故障", sender=("网关b", "gateway@gw-b.example")))
    relayed = 0
    try:
        for _ in range(40):
            for key, gateway in gateways.items():
                gateway.process_batch(sources[key])
                gateway.flush()
            fresh = smtp_capture.messages[relayed:]
            if not fresh:
                break
            for mail in fresh:
                for rcpt in mail.rcpt_tos:
                    if rcpt in accounts:
                        accounts[rcpt].append(strip_robot_headers(mail.raw) if careless
                                              else mail.raw)
            relayed += len(fresh)
        else:
            pytest.fail("the gateways were still answering each other after 40 rounds")
    finally:
        for key, gateway in gateways.items():
            sources[key].close()
            gateway.close()
    between = [m for m in smtp_capture.messages if set(m.rcpt_tos) & set(accounts)]
    # Kept headers: the first answer is recognised as automatic. Stripped: the cap ends it.
    assert len(between) <= (1 if not careless else 2 * CAP.limit)


@pytest.mark.integration
def test_out_of_office_responder_gets_five_answers_an_hour_even_across_restarts(
        tmp_path, imap_account, smtp_capture, clock, monkeypatch):
    def out_of_office(n: int) -> FetchedMail:
        # A responder with no Auto-Submitted, no threading headers, a fresh subject each time.
        message = MIMEText(f"我出差了 ({n})", "plain", "utf-8")
        message["From"] = "ooo@customer.example"
        message["To"] = "gateway@gw-a.example"
        message["Subject"] = f"外出 {n}"
        message["Date"] = formatdate()
        message["Message-ID"] = f"<ooo-{n}@customer.example>"
        return FetchedMail(key=f"ooo-{n}", raw=message.as_bytes(), size=0)

    def acks(gateway) -> int:
        gateway.flush()
        return sum(1 for m in smtp_capture.messages if m.rcpt_tos == ("ooo@customer.example",))

    gateway = make_gateway(tmp_path, "a", imap_account, smtp_capture, clock, monkeypatch)
    for n in range(8):
        gateway.ingest(out_of_office(n))
        clock.advance(minutes=1)
    assert acks(gateway) == 5
    gateway.close()

    restarted = make_gateway(tmp_path, "a", imap_account, smtp_capture, clock, monkeypatch)
    restarted.ingest(out_of_office(8))
    assert acks(restarted) == 5  # the cap is in the database, not in memory
    with restarted.sessions() as session:
        kinds = session.scalars(select(Mail.kind).where(Mail.direction == "in")).all()
    assert len(kinds) == 9  # every one stored all the same

    clock.advance(hours=1)
    restarted.ingest(out_of_office(9))
    assert acks(restarted) == 6  # a new hour, a new allowance

    # Eight arriving together are stored in one transaction: the cap still holds inside it.
    clock.advance(hours=1)
    results = restarted.process_batch(Arrived([out_of_office(n) for n in range(10, 18)]))
    assert all(r.action is Disposition.CREATED for r in results)
    assert acks(restarted) == 6 + 5
    restarted.close()


