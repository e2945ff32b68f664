"""Two gateway nodes on one PostgreSQL database, one killed again and again while mail arrives.

Two real `gateway run` processes share a private schema of the local PostgreSQL, one Dovecot
folder and one SMTP sink. Each round appends a share of the mails and, at a random moment,
SIGKILLs one node (picked at random among those holding a lease, so every kill makes the
other node take over), measures the seconds until the other node holds every lease the dead
one held, and restarts it. Afterwards every mail must have exactly one record and every
queued mail must have reached the SMTP server; the only copies allowed are those the SMTP
server had accepted before the dead node's commit, under the same Message-ID.

    python bench/failover.py --mails 1000 --kills 10
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))
sys.path.insert(0, str(ROOT))

from dbfixtures import PG_ENV, private_schema  # noqa: E402
from failoverrig import ClusterRig  # noqa: E402
from servers import Dovecot, SmtpCapture, dovecot_available  # noqa: E402

from gateway.outbox.sender import UNCOMMITTED_PER_CONNECTION  # noqa: E402

USER, PASSWORD = "gateway@failover.test", "failover-secret"
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
LEASES = 3  # the mailbox, the outbox and the periodic jobs
TAKEOVER_LIMIT = 15.0  # seconds another node may take to cover a dead one


def campaign(rig: ClusterRig, mails: int, kills: int, rng: random.Random) -> list[float]:
    takeovers: list[float] = []
    per_round = max(1, mails // (kills + 1))
    for _ in range(kills):
        rig.append(min(per_round, mails - len(rig.first.appended)))
        time.sleep(rng.uniform(0.2, 2.0))
        holders = [node for node in rig.nodes if rig.held_by(node)]
        victim = rng.choice(holders or rig.nodes)
        dead, held = rig.kill(victim)
        if held:
            seconds = rig.wait_takeover(dead, held, 60)
            if seconds is None:
                raise SystemExit(f"no node took over {held} from {dead} within 60 s")
            takeovers.append(seconds)
        victim.start()
    rig.append(mails - len(rig.first.appended))
    return takeovers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=1000)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--database-url", default=os.environ.get(PG_ENV, DEFAULT_URL))
    args = parser.parse_args()
    if reason := dovecot_available():
        print(f"failover: {reason}", file=sys.stderr)
        return 69
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    started = time.monotonic()
    with (tempfile.TemporaryDirectory(prefix="gw-failover-") as tmp, SmtpCapture() as smtp,
          private_schema(args.database_url) as url):
        folder = Path(tmp)
        folder.chmod(0o755)
        dovecot = Dovecot(folder / "dovecot", {USER: PASSWORD}).start()
        rig = ClusterRig(folder, dovecot.account(USER), smtp, url)
        try:
            rig.start_all()
            if not rig.wait_leases(LEASES, 60):
                raise SystemExit(f"the nodes never held the leases:\n{rig.first.log_text()}")
            takeovers = campaign(rig, args.mails, args.kills, rng)
            settled = rig.first.wait_settled(600)
            figures = rig.first.figures()
        finally:
            rig.close()
            dovecot.stop()
    kills = args.kills
    resent_limit = kills * (UNCOMMITTED_PER_CONNECTION + 1) * 4  # smtp.connections = 4
    result = {
        "seed": seed, "seconds": round(time.monotonic() - started, 1), "kills": kills,
        "mails": figures.mails, "records": figures.records, "lost": figures.lost,
        "doubled": figures.doubled + figures.strangers, "resent": figures.duplicates,
        "filed": figures.filed, "left_in_inbox": figures.left_in_inbox,
        "outgoing": figures.queued, "settled": settled,
        "takeovers": [round(s, 2) for s in takeovers],
        "takeover_p50": round(statistics.median(takeovers), 2) if takeovers else None,
        "takeover_max": round(max(takeovers), 2) if takeovers else None,
    }
    print(f"seed {seed}, {result['seconds']:.0f}s, {kills} kills, {len(takeovers)} takeovers: "
          f"p50 {result['takeover_p50']}s, max {result['takeover_max']}s")
    print(f"mails {figures.mails}, records {figures.records}, lost {figures.lost}, "
          f"doubled {result['doubled']}, resent {figures.duplicates} (same Message-ID), "
          f"outgoing {figures.queued}, filed {figures.filed}")
    print(json.dumps(result))
    broken = (not settled or figures.lost or result["doubled"] or figures.left_in_inbox
              or figures.filed != figures.mails or figures.duplicates > resent_limit
              or any(s > TAKEOVER_LIMIT for s in takeovers))
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
