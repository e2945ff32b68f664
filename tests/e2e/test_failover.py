"""Two real `gateway run` nodes on one PostgreSQL schema, one Dovecot folder, one SMTP sink."""

from __future__ import annotations

import time

import pytest
from clirun import gateway_cmd
from crashrig import PASSWORD_ENV
from failoverrig import ClusterRig

pytestmark = pytest.mark.integration

LEASES = 3  # the mailbox, the outbox, the periodic jobs
TAKEOVER = 15.0  # seconds within which another node covers a dead one


@pytest.fixture
def cluster(tmp_path, imap_account, smtp_capture, pg_storage_url):
    rig = ClusterRig(tmp_path, imap_account, smtp_capture, pg_storage_url)
    rig.start_all()
    assert rig.wait_leases(LEASES, 60), rig.first.log_text()
    yield rig
    rig.close()


def test_two_nodes_store_and_send_every_mail_once(cluster):
    cluster.append(40)
    assert cluster.first.wait_settled(60), cluster.first.log_text()
    figures = cluster.first.figures()
    assert (figures.records, figures.lost, figures.doubled) == (40, 0, 0)
    assert figures.queued == 80  # an acknowledgement and a notification each
    assert (figures.sent, figures.duplicates, figures.strangers) == (80, 0, 0)
    # Both nodes run; the leases were shared out, never held twice.
    assert cluster.registered() == {node.node_id for node in cluster.nodes}
    assert set(cluster.holdings().values()) <= cluster.registered()


def test_health_lists_the_nodes_and_what_each_holds(cluster):
    for _ in range(50):  # both nodes' first heartbeats
        if len(cluster.registered()) == 2:
            break
        time.sleep(0.1)
    node = cluster.first
    result = gateway_cmd("health", config=node.config,
                         env={PASSWORD_ENV: node.account.password})
    out = result.stdout.decode()
    assert "ok nodes: 2 running" in out, out
    for rig in cluster.nodes:
        assert f"ok node {rig.node_id}: running, up since" in out, out
    holder = cluster.holdings()["outbox"]
    (line,) = [line for line in out.splitlines() if line.startswith(f"ok node {holder}:")]
    assert "outbox since" in line and "scheduler" in out and "mailbox:imap:" in out


def test_a_node_killed_is_covered_by_the_other_within_15_seconds(cluster):
    cluster.append(10)
    assert cluster.first.wait_settled(60), cluster.first.log_text()
    (victim,) = [node for node in cluster.nodes if cluster.held_by(node)][:1]
    dead, held = cluster.kill(victim)
    assert held
    cluster.append(10)  # arrives while the holder is dead
    seconds = cluster.wait_takeover(dead, held, 30)
    assert seconds is not None and seconds <= TAKEOVER, seconds
    assert cluster.first.wait_settled(30), [n.log_text()[-3000:] for n in cluster.nodes]
    figures = cluster.first.figures()
    assert (figures.records, figures.lost, figures.doubled, figures.strangers) == (20, 0, 0, 0)
    assert figures.filed == 20 and figures.left_in_inbox == 0
    victim.start()  # comes back as a standby: the leases stay where they are
    time.sleep(3)
    assert dead not in cluster.holdings().values()
    assert len(cluster.holdings()) == LEASES


def test_a_node_stopped_cleanly_hands_its_leases_over_at_once(cluster):
    import signal

    (holder,) = [node for node in cluster.nodes if cluster.held_by(node)][:1]
    node_id, held = holder.node_id, cluster.held_by(holder)
    holder.process.send_signal(signal.SIGTERM)
    assert holder.wait_exit(30) == 0, holder.log_text()
    seconds = cluster.wait_takeover(node_id, held, 15)
    assert seconds is not None and seconds < 4, seconds  # given back, not run out (8 s)
    assert node_id not in cluster.registered()  # it left the registry on its way out
