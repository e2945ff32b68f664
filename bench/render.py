"""Rendering speed: both answers to one new mail (acknowledgement, and the department's
notification with the original attached), timed over many rounds.

The mailbox loop aims at 300 mails/s, so the two renders for one mail should take well under
1/300 s (3.3 ms), leaving the rest for parsing and storing. This prints the figure; it does
not judge it.

    python bench/render.py --rounds 2000
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gateway.model import Address, InboundMail  # noqa: E402
from gateway.outgoing.render import Renderer, sample_context  # noqa: E402

GATEWAY = Address("信息交流网关", "gateway@corp.example")
STAFF = (Address("王工", "wang.gong@corp.example"),)
NOW = datetime(2026, 11, 20, 1, 30, tzinfo=UTC)
ORIGINAL = (
    "From: =?utf-8?b?6ZmI576O?= <chen.mei@bigcustomer.example>\r\n"
    "To: gateway@corp.example\r\n"
    "Subject: =?utf-8?b?44CQ57Sn5oCl44CR55Sf5Lqn6YOoLeiuvuWkh+aVhemanOmAmuefpQ==?=\r\n"
    "Message-ID: <orig-1@bigcustomer.example>\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "3号产线液压泵故障, 请尽快派人检修。\r\n"
).encode()


def inbound() -> InboundMail:
    return InboundMail(
        message_id="orig-1@bigcustomer.example", message_id_synthetic=False, in_reply_to=(),
        references=(), subject="【紧急】生产部-设备故障通知",
        from_addr=Address("陈美", "chen.mei@bigcustomer.example"), sender=None, reply_to=(),
        to=(GATEWAY,), cc=(), delivered_to=(), date=NOW, text="故障", html=None,
        attachments=(), auto=None, auto_reason=None, x_loop=(), defects=(), size=len(ORIGINAL),
    )


def per_mail_seconds(renderer: Renderer, rounds: int) -> float:
    context, mail = sample_context(), inbound()
    start = time.perf_counter()
    for _ in range(rounds):
        renderer.render("ack", to=STAFF, context=context, reply_to=mail, now=NOW)
        renderer.render("notify", to=STAFF, context=context, reply_to=mail, now=NOW,
                        attach_original=ORIGINAL)
    return (time.perf_counter() - start) / rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--templates", type=Path, default=ROOT / "templates")
    args = parser.parse_args()
    renderer = Renderer(args.templates, domain="gateway.corp.example", from_addr=GATEWAY)
    per_mail_seconds(renderer, 20)  # warm up: templates compile on first use
    seconds = per_mail_seconds(renderer, args.rounds)
    print(f"rounds {args.rounds}: {seconds * 1000:.3f} ms per mail (ack + notify), "
          f"{1 / seconds:,.0f} mails/s of rendering")
    print(json.dumps({"rounds": args.rounds, "ms_per_mail": round(seconds * 1000, 4),
                      "mails_per_s": round(1 / seconds, 1)}))


if __name__ == "__main__":
    main()
