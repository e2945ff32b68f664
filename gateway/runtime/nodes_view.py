"""What `gateway health` says of the nodes: who runs, since when, holding which lease."""

from __future__ import annotations

from datetime import datetime, timedelta

from gateway.config import Settings
from gateway.db.leases import Holding
from gateway.db.nodes import Seen, cluster_state
from gateway.runtime.cluster import LEASE_TTL, is_shared
from gateway.runtime.single_node import DaemonLock

GONE_AFTER = timedelta(seconds=LEASE_TTL)  # a node not seen for this long is taken for dead


def describe_nodes(settings: Settings) -> list[tuple[str, str]]:
    """(check name, detail) lines: a summary, then one line per node the database has seen."""
    if not is_shared(settings):
        lock = DaemonLock.for_url(settings.database_url)
        holder = lock.holder() if lock is not None else None
        return [("nodes", f"single node (SQLite): {holder or 'no daemon running'}")]
    now, seen, leases = cluster_state(settings.database_url, settings.health.timeout)
    alive = [node for node in seen if now - node.seen_at <= GONE_AFTER]
    free = [lease.name for lease in leases if _running_out(lease, now, alive)]
    summary = f"{len(alive)} running" + (f", {len(seen) - len(alive)} gone" if
                                         len(seen) > len(alive) else "")
    if free:
        summary += f"; held by nobody now: {', '.join(free)}"
    lines = [("nodes", summary)]
    for node in seen:
        lines.append((f"node {node.id}", _node_line(node, now, leases)))
    return lines


def _running_out(lease: Holding, now: datetime, alive: list[Seen]) -> bool:
    return lease.holder is None or lease.expires_at < now or \
        lease.holder not in {node.id for node in alive}


def _node_line(node: Seen, now: datetime, leases: list[Holding]) -> str:
    state = "running" if now - node.seen_at <= GONE_AFTER else "gone"
    held = [f"{lease.name} since {_when(lease.since)}" for lease in leases
            if lease.holder == node.id and lease.expires_at >= now]
    return (f"{state}, up since {_when(node.started_at)}, last seen "
            f"{_seconds(now - node.seen_at)}s ago; holds "
            + ("; ".join(held) if held else "nothing (standing by)"))


def _when(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M:%S} UTC"


def _seconds(age: timedelta) -> int:
    return max(0, int(age.total_seconds()))
