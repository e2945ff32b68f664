"""Throughput, latency and memory of the whole mail loop against a private Dovecot.

Phase 1 (bare limit): FETCH BODY.PEEK[] in batches of 200 plus stdlib parsing, nothing else.
Phase 2 (throughput): N mails wait in INBOX and the register's tables exist; the daemon starts
and processes them all; the clock stops when the last acknowledgement reaches the local SMTP
sink (`SinkSession`, as light as an SMTP server can be, since it shares the two cores).
Phase 3 (latency): with the daemon idling in IMAP IDLE, mails are appended one by one at a
steady rate; each one's APPEND → acknowledgement-received time is measured.
CPU: the user and system time of the gateway's own processes (the daemon, its mailbox reader
and its outbox sender; not Dovecot, not the benchmark's SMTP server) from start-up to the last
acknowledgement, per mail; and this process's own CPU (the sink among others).
`--database-url` runs on PostgreSQL (a private schema).
Memory: the peak of the summed PSS of the daemon and its forked reader and sender (shared
pages counted once), and each process's VmHWM. The last line printed is one JSON object.

    python bench/throughput.py --mails 5000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import email
import email.policy
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))
sys.path.insert(1, str(ROOT))

from dbfixtures import private_schema  # noqa: E402
from servers import Dovecot, dovecot_available, free_port  # noqa: E402

USER, PASSWORD = "gateway@bench.test", "bench-secret"
# The daemon's forked processes name themselves (runtime/children.py).
PROCESS_NAMES = {"gateway-outbox": "outbox sender", "gateway-reader": "mailbox reader"}
STEADY_MIN = 2000  # mails: below this the per-mail CPU "once started" is dominated by one batch
_IN_REPLY_TO = re.compile(rb"^In-Reply-To:\s*<([^>]+)>", re.MULTILINE | re.IGNORECASE)

SUBJECTS = [
    ("【紧急】生产部-设备故障通知", "3号线设备突发故障, 已停机, 请立即安排维修。"),
    ("[一般] 市场部-新品推广资源申请", "请同步推广时间节点和预算分配。"),
    ("原材料交付延期通知", "订单所需钢板因物流原因将延期5天交付。"),
    ("【特急】关于产品标签合规要求的通知", "新版规范下月起施行, 请5个工作日内反馈。"),
    ("Re: 【紧急】采购部-报价确认", "报价已更新, 请确认。"),
    ("【緊急】客戶投訴-包裝破損", "本週貨物包裝破損嚴重, 請盡快處理。"),
    ("Quarterly report request", "Please send the Q4 delivery figures by Friday."),
]
CHARSETS = ["gbk", "utf-8", "gb2312", "big5", "utf-8"]


def make_mail(n: int, rng: random.Random) -> tuple[str, bytes]:
    subject, body = SUBJECTS[n % len(SUBJECTS)]
    charset = "big5" if "緊急" in subject else rng.choice(CHARSETS)
    if charset == "big5" and "緊急" not in subject:
        charset = "utf-8"
    text = MIMEText((body + "\n") * rng.randint(3, 40), "plain", charset)
    message = text
    if rng.random() < 0.2:
        message = MIMEMultipart()
        message.attach(text)
        part = MIMEApplication(rng.randbytes(rng.randint(2_000, 60_000)), Name="附件.pdf")
        part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", "附件.pdf"))
        message.attach(part)
    message_id = f"bench-{n}-{rng.getrandbits(32):08x}@sender{n % 50}.example"
    message["From"] = formataddr((str(Header(f"发件人{n % 50}", "utf-8")),
                                  f"user{n % 50}@sender{n % 50}.example"))
    message["To"] = USER
    message["Subject"] = Header(subject, charset)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = f"<{message_id}>"
    return message_id, message.as_bytes()


class AckClock:
    """Notes when each acknowledgement (by the mail it answers) reaches the SMTP sink.

    The sink's thread wakes a waiter only when the last mail it waits for is answered, so
    the clock itself costs next to nothing while the gateway is timed.
    """

    def __init__(self) -> None:
        self.acks: dict[str, float] = {}
        self.total = 0
        self.cond = threading.Condition()
        self._waiting: set[str] = set()

    def received(self, raw: bytes) -> None:
        now = time.monotonic()
        head = raw[:8192]
        match = _IN_REPLY_TO.search(head) if b".ack@" in head else None
        with self.cond:
            self.total += 1
            if match and (answered := match.group(1).decode()) not in self.acks:
                self.acks[answered] = now
                self._waiting.discard(answered)
                if not self._waiting:
                    self.cond.notify_all()

    def wait(self, ids: list[str], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self.cond:
            self._waiting = {i for i in ids if i not in self.acks}
            while self._waiting:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(min(left, 1.0))
        return True


class SinkSession(asyncio.Protocol):
    """One SMTP connection to the sink: every mail taken, each handed to the clock.

    A relay in production runs on another machine; here the sink shares the two cores with
    the gateway, so it does as little as an SMTP server can: it answers the commands a
    client sends together in one write, as Postfix does, and keeps no message.
    """

    EHLO = (b"250-sink.bench.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n"
            b"250 SIZE 104857600\r\n")

    def __init__(self, clock: AckClock) -> None:
        self.clock = clock
        self.buffer = bytearray()
        self.in_data = False
        self.scanned = 0  # how far the data was searched for its end without finding it

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(b"220 sink.bench.test ESMTP\r\n")

    def data_received(self, chunk: bytes) -> None:
        self.buffer += chunk
        replies = []
        while reply := self._next_reply():
            replies.append(reply)
            if reply.startswith(b"221"):
                break
        if replies:
            self.transport.write(b"".join(replies))
            if replies[-1].startswith(b"221"):
                self.transport.close()

    def _next_reply(self) -> bytes | None:
        buffer = self.buffer
        if self.in_data:
            if buffer.startswith(b".\r\n"):
                end = 0  # an empty message
            else:
                found = buffer.find(b"\r\n.\r\n", max(0, self.scanned - 4))
                if found < 0:
                    self.scanned = len(buffer)
                    return None
                end = found + 2
            self.clock.received(bytes(buffer[:end]))
            del buffer[:end + 3]
            self.in_data, self.scanned = False, 0
            return b"250 2.0.0 OK\r\n"
        end = buffer.find(b"\r\n")
        if end < 0:
            return None
        verb = bytes(buffer[:4]).upper()
        del buffer[:end + 2]
        if verb == b"EHLO":
            return self.EHLO
        if verb == b"DATA":
            self.in_data = True
            return b"354 End data with <CR><LF>.<CR><LF>\r\n"
        if verb == b"QUIT":
            return b"221 Bye\r\n"
        return b"250 OK\r\n"  # HELO, MAIL, RCPT, RSET, NOOP


class Sink:
    """The SMTP sink in a thread of its own, on a free port of 127.0.0.1."""

    def __init__(self, clock: AckClock) -> None:
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(self.loop)
            server = self.loop.run_until_complete(self.loop.create_server(
                lambda: SinkSession(clock), "127.0.0.1", self.port))
            ready.set()
            self.loop.run_forever()
            server.close()
            self.loop.run_until_complete(server.wait_closed())

        self.thread = threading.Thread(target=serve, daemon=True)
        self.thread.start()
        ready.wait(10)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def bare_limit(dovecot: Dovecot, mails: list[bytes]) -> float:
    client = dovecot.account(USER).connect(timeout=120)
    client.create_folder("Bare")
    for raw in mails:
        client.append("Bare", raw)
    client.select_folder("Bare", readonly=True)
    client._imap.debug = 0  # no protocol trace, as in the gateway (sources/imap_login.py)
    uids = client.search("ALL")
    start = time.perf_counter()
    for i in range(0, len(uids), 200):
        for data in client.fetch(uids[i:i + 200], ["BODY.PEEK[]"]).values():
            message = email.message_from_bytes(data[b"BODY[]"], policy=email.policy.compat32)
            for part in message.walk():
                part.get_payload(decode=True)
    elapsed = time.perf_counter() - start
    client.logout()
    return len(uids) / elapsed


def write_config(folder: Path, imap_port: int, smtp_port: int, database_url: str | None = None
                 ) -> Path:
    config = folder / "config.toml"
    config.write_text(f"""
[gateway]
domain = "gateway.bench.test"
internal_domains = ["bench.test"]
rules_dir = "{ROOT / 'rules'}"
templates_dir = "{ROOT / 'templates'}"
storage_dir = "{folder / 'storage'}"
[mailbox]
kind = "imap"
host = "127.0.0.1"
port = {imap_port}
tls = "none"
user = "{USER}"
password_env = "BENCH_IMAP_PASSWORD"
idle = true

[smtp]
host = "127.0.0.1"
port = {smtp_port}
tls = "none"
from = "信息交流网关 <gateway@bench.test>"
[auto_reply]
limit = 1000000  # 50 senders write thousands of mails: every one is acknowledged
[logging]
level = "WARNING"
""" + (f"[database]\nurl = {json.dumps(database_url)}\n" if database_url else ""),
                      encoding="utf-8")
    return config


def prepare(config: Path) -> None:
    """What every start but the very first finds, made before the clock starts: the
    register's tables, and the templates as the last start compiled them."""
    from gateway.config import load_settings
    from gateway.runtime.assembly import Gateway
    from gateway.runtime.reload import read_snapshot, template_problems

    settings = load_settings(config)
    gateway = Gateway(settings)  # creates the tables
    try:
        snapshot = read_snapshot(settings.gateway.rules_dir, settings.gateway.templates_dir)
        template_problems(snapshot.templates, settings.gateway.templates_dir,
                          gateway.services.renderer)
    finally:
        gateway.close()


def start_daemon(config: Path) -> subprocess.Popen:
    env = {**os.environ, "BENCH_IMAP_PASSWORD": PASSWORD, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "gateway.cli", "--config", str(config), "run"],
                            env=env, stdin=subprocess.DEVNULL)


def _pss_kb(pid: int) -> int:
    """A process's PSS from /proc/PID/smaps_rollup: one line, where psutil walks every mapping."""
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        for line in rollup:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    raise OSError(f"no Pss line for process {pid}")


class MemoryWatch:
    """Samples the daemon's process tree: each process's VmHWM, and the peak of their summed PSS.

    The reader and the sender are forked from the daemon and share its pages; RSS counts shared
    pages in every process that maps them, PSS splits them, so the PSS sum is the memory all
    of them use.
    """

    def __init__(self, pid: int, interval: float = 0.2, acked=lambda: 0):
        import psutil

        self.main = psutil.Process(pid)
        # (CPU seconds, acknowledgements) at the first sample that saw one: start-up is over.
        self.first_acked: tuple[float, int] | None = None
        self._acked = acked
        self.peak_pss_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, args=(interval,), daemon=True)
        self._thread.start()

    def _sample(self, interval: float) -> None:
        import psutil

        while not self._stop.wait(interval):
            try:
                total = sum(_pss_kb(p.pid) for p in self._tree())
            except (psutil.Error, OSError):
                continue
            self.peak_pss_mb = max(self.peak_pss_mb, total / 1024)
            if self.first_acked is None and (acked := self._acked()):
                self.first_acked = (self.cpu_seconds(), acked)

    def _tree(self):
        return [self.main, *self.main.children(recursive=True)]

    def cpu_seconds(self) -> float:
        """User and system time the daemon and its children have used so far."""
        import psutil

        total = 0.0
        for process in self._tree():
            try:
                times = process.cpu_times()
            except psutil.Error:
                continue
            total += times.user + times.system
        return total

    def stop(self) -> dict[str, float]:
        """Stop sampling; each process's peak RSS (VmHWM) by name."""
        self._stop.set()
        self._thread.join()
        peaks = {}
        for process in self._tree():
            for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    name = "daemon" if process.pid == self.main.pid else PROCESS_NAMES.get(
                        process.name(), process.name())
                    peaks[name] = int(line.split()[1]) / 1024
        return peaks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=5000)
    parser.add_argument("--latency-mails", type=int, default=300)
    parser.add_argument("--rate", type=float, default=50.0, help="appends/s in the latency phase")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", help="PostgreSQL URL; a private schema is used")
    args = parser.parse_args()
    if reason := dovecot_available():
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2
    rng = random.Random(args.seed)
    generated = [make_mail(n, rng) for n in range(args.mails + args.latency_mails)]
    batch, trickle = generated[:args.mails], generated[args.mails:]

    with tempfile.TemporaryDirectory(prefix="gw-bench-") as tmp, \
            optional_schema(args.database_url) as database_url:
        folder = Path(tmp)
        os.chmod(folder, 0o755)
        dovecot = Dovecot(folder / "dovecot", {USER: PASSWORD}).start()
        clock = AckClock()
        smtp = Sink(clock)
        daemon = None
        try:
            bare = bare_limit(dovecot, [raw for _, raw in batch])
            print(f"bare fetch+parse: {bare:,.0f} mails/s")

            client = dovecot.account(USER).connect(timeout=120)
            for _, raw in batch:
                client.append("INBOX", raw)
            client.logout()
            config = write_config(folder, dovecot.port, smtp.port, database_url)
            prepare(config)  # as on every start but the very first
            daemon = start_daemon(config)
            started, own_start = time.monotonic(), _own_cpu()
            memory = MemoryWatch(daemon.pid, acked=lambda: len(clock.acks))
            if not clock.wait([m for m, _ in batch], timeout=max(300, args.mails / 5)):
                print(f"timed out: {len(clock.acks)}/{args.mails} acknowledgements", file=sys.stderr)
                return 1
            cpu_s = memory.cpu_seconds()
            own_ms = (_own_cpu() - own_start) * 1000 / args.mails
            cpu_ms = cpu_s * 1000 / args.mails
            first_cpu, first_acks = memory.first_acked or (0.0, 0)
            steady_ms = ((cpu_s - first_cpu) * 1000 / (args.mails - first_acks)
                         if first_acks < args.mails else cpu_ms)
            elapsed = max(clock.acks[m] for m, _ in batch) - started
            rate = args.mails / elapsed
            print(f"end to end: {args.mails} mails in {elapsed:.2f}s = {rate:,.0f} mails/s "
                  f"(incl. daemon start-up); {rate / bare:.0%} of the bare limit")
            print(f"gateway CPU: {cpu_ms:.2f} ms per mail (daemon, reader and sender, "
                  f"start-up included); {steady_ms:.2f} ms per mail after the first "
                  "acknowledgement (start-up excluded)")
            print(f"benchmark's own CPU (SMTP sink, clock, memory sampling): {own_ms:.2f} ms "
                  "per mail, on the same two cores")
            if args.mails < STEADY_MIN:
                # The daemon stores a whole fetched batch before the first acknowledgement
                # goes out, so that batch's work counts as start-up here.
                print(f"  (the figure after the first acknowledgement means little under "
                      f"{STEADY_MIN:,} mails: the daemon is a batch ahead of the answers)")

            latencies = appended_latencies(dovecot, clock, trickle, args.rate)
            p50 = statistics.median(latencies)
            p95 = statistics.quantiles(latencies, n=20)[-1] if len(latencies) > 1 else p50
            peaks = memory.stop()
            rss = memory.peak_pss_mb
            print(f"APPEND → ack with IDLE: p50 {p50:.3f}s, p95 {p95:.3f}s over {len(latencies)}")
            print(f"peak memory: {rss:.1f} MB in all (summed PSS of the daemon's processes); "
                  "peak RSS by process: "
                  + ", ".join(f"{name} {mb:.1f} MB" for name, mb in peaks.items()))
            print(json.dumps({"mails": args.mails, "mails_per_s": round(rate, 1),
                              "p50_s": round(p50, 3), "p95_s": round(p95, 3),
                              "peak_rss_mb": round(rss, 1),
                              "peak_rss_by_process_mb": {k: round(v, 1) for k, v in peaks.items()},
                              "bare_mails_per_s": round(bare, 1),
                              "cpu_ms_per_mail": round(cpu_ms, 3),
                              "cpu_ms_per_mail_steady": round(steady_ms, 3),
                              "bench_cpu_ms_per_mail": round(own_ms, 3),
                              "database": "postgresql" if database_url else "sqlite",
                              "ratio_to_bare": round(rate / bare, 3)}))
            return 0
        finally:
            if daemon is not None:
                daemon.send_signal(signal.SIGTERM)
                try:
                    daemon.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    daemon.kill()
            smtp.stop()
            dovecot.stop()


@contextlib.contextmanager
def optional_schema(url: str | None):
    """A throw-away schema on PostgreSQL when a URL is given; None (SQLite) otherwise."""
    if not url:
        yield None
        return
    with private_schema(url) as schema_url:
        yield schema_url


def _own_cpu() -> float:
    """User and system time of this process (the SMTP sink's thread among others)."""
    times = os.times()
    return times.user + times.system


def appended_latencies(dovecot: Dovecot, clock: AckClock, mails, rate: float) -> list[float]:
    client = dovecot.account(USER).connect(timeout=60)
    appended: dict[str, float] = {}
    for message_id, raw in mails:
        appended[message_id] = time.monotonic()
        client.append("INBOX", raw)
        time.sleep(max(0.0, 1 / rate - (time.monotonic() - appended[message_id])))
    client.logout()
    clock.wait(list(appended), timeout=120)
    return [clock.acks[m] - t for m, t in appended.items() if m in clock.acks]


if __name__ == "__main__":
    sys.exit(main())
