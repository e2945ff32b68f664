"""A randomized crash campaign: the real daemon is killed again and again while mail arrives.

Each round appends a share of the mails, starts `gateway run`, and kills it: either from
inside, at a random fault point (GATEWAY_FAULTS, os._exit), or from outside with SIGKILL at
a random moment. A last clean run drains everything; then every mail in the mailbox must
have exactly one record and every queued mail must have reached the SMTP server.
Duplicates are counted; they may only come from the window between SMTP 250 and the commit,
and always carry the same Message-ID (a different one would count as a stranger).

    python bench/crash.py --mails 2000 --kills 200
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))
sys.path.insert(0, str(ROOT))

from crashrig import FAULT_EXIT, CrashRig  # noqa: E402
from servers import Dovecot, SmtpCapture, dovecot_available  # noqa: E402

from gateway.faults import FAULT_POINTS  # noqa: E402

USER, PASSWORD = "gateway@crash.test", "crash-secret"


def campaign(rig: CrashRig, mails: int, kills: int, rng: random.Random) -> Counter:
    how = Counter()
    per_round = max(1, mails // (kills + 1))
    for _ in range(kills):
        rig.append(min(per_round, mails - len(rig.appended)))
        if rng.random() < 0.5:
            point = rng.choice(FAULT_POINTS)
            rig.start(f"{point}:{rng.choice(['0.2', '0.5', '1'])}")
        else:
            point = None
            rig.start()
        code = rig.wait_exit(rng.uniform(0.3, 3.0))
        if code == FAULT_EXIT:
            how[f"injected {point}"] += 1
        elif code is None:
            rig.kill()
            how["SIGKILL from outside"] += 1
        else:
            raise SystemExit(f"daemon exited with {code} on its own:\n{rig.log_text()[-3000:]}")
    rig.append(mails - len(rig.appended))
    return how


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=2000)
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    if reason := dovecot_available():
        print(f"crash: {reason}", file=sys.stderr)
        return 69
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="gw-crash-") as tmp, SmtpCapture() as smtp:
        folder = Path(tmp)
        folder.chmod(0o755)
        dovecot = Dovecot(folder / "dovecot", {USER: PASSWORD}).start()
        try:
            rig = CrashRig(folder / "gateway", dovecot.account(USER), smtp)
            how = campaign(rig, args.mails, args.kills, rng)
            rig.start()
            settled = rig.wait_settled(600)
            rig.kill()
            figures = rig.figures()
        finally:
            dovecot.stop()
    print(f"seed {seed}, {time.monotonic() - started:.0f}s")
    for kind, count in sorted(how.items()):
        print(f"  {count:5d} x {kind}")
    print(f"kills {sum(how.values())}, mails {figures.mails}, records {figures.records}, "
          f"filed {figures.filed}, outgoing {figures.queued} (received {figures.sent}), "
          f"duplicates sent {figures.duplicates}, strangers {figures.strangers}, "
          f"mails lost {figures.lost}")
    print(json.dumps({"seed": seed, "kills": sum(how.values()), **asdict(figures),
                      "lost": figures.lost, "settled": settled}))
    broken = (not settled or figures.lost or figures.doubled or figures.strangers
              or figures.left_in_inbox or figures.filed != figures.mails)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
