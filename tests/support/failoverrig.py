"""Two or more real `gateway run` nodes on one PostgreSQL schema, one Dovecot folder and one
SMTP capture, killed and restarted on purpose; used by tests/e2e/test_failover.py and
bench/failover.py. Each node is a CrashRig (crashrig.py) whose database is the shared one."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from crashrig import CrashRig
from servers import ImapAccount, SmtpCapture
from sqlalchemy import create_engine, text


class NodeRig(CrashRig):
    """One node: its own folder, config and log, the cluster's database."""

    def __init__(self, base: Path, account: ImapAccount, smtp: SmtpCapture, url: str,
                 extra: str = ""):
        super().__init__(base, account, smtp, extra=f'\n[database]\nurl = "{url}"\n' + extra)
        self._engine = create_engine(url, pool_size=1)

    def _query(self, sql: str, *args) -> list[tuple]:
        try:
            with self._engine.connect() as connection:
                return [tuple(row) for row in connection.execute(text(sql)).all()]
        except Exception:  # noqa: BLE001 - schema not created yet
            return []

    @property
    def node_id(self) -> str | None:
        """The id the running daemon registers under (runtime/cluster.py: host:pid)."""
        if self.process is None or self.process.poll() is not None:
            return None
        return f"{socket.gethostname()}:{self.process.pid}"

    def close(self) -> None:
        self.kill()
        self._engine.dispose()


class ClusterRig:
    def __init__(self, base: Path, account: ImapAccount, smtp: SmtpCapture, url: str,
                 nodes: int = 2):
        self.nodes = [NodeRig(Path(base) / f"node-{i}", account, smtp, url)
                      for i in range(nodes)]
        for node in self.nodes[1:]:
            node.appended = self.nodes[0].appended  # one mailbox, one list of what it got

    @property
    def first(self) -> NodeRig:
        return self.nodes[0]

    def start_all(self) -> None:
        for node in self.nodes:
            node.start()

    def close(self) -> None:
        for node in self.nodes:
            node.close()

    def append(self, count: int) -> None:
        self.first.append(count)

    # --- who holds what --------------------------------------------------------------------

    def holdings(self) -> dict[str, str]:
        """Lease name → holder, for leases that have not run out (the database's clock)."""
        rows = self.first._query(
            "SELECT name, holder FROM leases WHERE holder IS NOT NULL "
            "AND expires_at > (clock_timestamp() AT TIME ZONE 'UTC')")
        return dict(rows)

    def registered(self) -> set[str]:
        return {node_id for (node_id,) in self.first._query("SELECT id FROM nodes")}

    def held_by(self, node: NodeRig) -> list[str]:
        return sorted(name for name, holder in self.holdings().items()
                      if holder == node.node_id)

    def wait_leases(self, names: int, timeout: float) -> bool:
        """Until `names` leases are held by running nodes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            alive = {node.node_id for node in self.nodes} - {None}
            if sum(holder in alive for holder in self.holdings().values()) >= names:
                return True
            time.sleep(0.05)
        return False

    def wait_takeover(self, dead: str, leases: list[str], timeout: float) -> float | None:
        """Seconds until every lease in `leases` is held by a node other than `dead`."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            now = self.holdings()
            if all(now.get(name) not in (None, dead) for name in leases):
                return time.monotonic() - started
            time.sleep(0.05)
        return None

    def kill(self, node: NodeRig) -> tuple[str, list[str]]:
        """SIGKILL `node`; its id and the leases it held a moment before."""
        node_id, held = node.node_id, self.held_by(node)
        node.kill()
        return node_id or "", held
