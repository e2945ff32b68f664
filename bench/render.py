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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))
sys.path.insert(0, str(ROOT))

from answered import GATEWAY, NOW, STAFF, UTF8_ORIGINAL, inbound  # noqa: E402

from gateway.outgoing.render import Renderer, sample_context  # noqa: E402


def per_mail_seconds(renderer: Renderer, rounds: int) -> float:
    context, mail = sample_context(), inbound()
    start = time.perf_counter()
    for _ in range(rounds):
        renderer.render("ack", to=STAFF, context=context, reply_to=mail, now=NOW)
        renderer.render("notify", to=STAFF, context=context, reply_to=mail, now=NOW,
                        attach_original=UTF8_ORIGINAL)
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
