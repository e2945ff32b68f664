"""Live rules: notice edited rule and template files; install a valid set, report the others."""

from __future__ import annotations

import copy
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import jinja2

from gateway.errors import RuleError, TemplateError
from gateway.outgoing.render import Renderer, make_environment, sample_context
from gateway.routing.load import load_rules
from gateway.routing.ruleset import RuleSet

log = logging.getLogger(__name__)

RULE_GLOB, TEMPLATE_GLOB = "*.toml", "*.j2"


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The watched files as read once: their bytes, and a digest over all of them."""

    rules: dict[str, bytes]
    templates: dict[str, bytes]
    digest: str


def stat_key(rules_dir: Path, templates_dir: Path) -> tuple:
    """Cheap look (name, size, mtime) to skip hashing when nothing was touched."""
    return tuple(
        (str(p), s.st_size, s.st_mtime_ns)
        for folder, glob in ((rules_dir, RULE_GLOB), (templates_dir, TEMPLATE_GLOB))
        for p in sorted(folder.glob(glob)) if p.is_file() and (s := p.stat())
    )


def read_snapshot(rules_dir: Path, templates_dir: Path) -> Snapshot:
    def read(folder: Path, glob: str) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in sorted(folder.glob(glob)) if p.is_file()}

    rules, templates = read(rules_dir, RULE_GLOB), read(templates_dir, TEMPLATE_GLOB)
    digest = hashlib.sha256()
    for kind, files in (("r", rules), ("t", templates)):
        for name, data in files.items():
            digest.update(f"{kind}:{name}:{len(data)}:".encode() + data)
    return Snapshot(rules, templates, digest.hexdigest())


def template_problems(templates: dict[str, bytes], templates_dir: Path,
                      renderer: Renderer) -> tuple[list[str], jinja2.Environment | None]:
    """Each broken template as `file:line: message`, and the environment of the set if none is."""
    env = make_environment(templates_dir, renderer.compiled_dir)
    sources = {}
    problems = []
    for name, data in templates.items():
        try:
            sources[name] = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.append(f"{name}: not UTF-8 ({exc.reason} at byte {exc.start})")
    env.loader = jinja2.DictLoader(sources)
    for name in sources:
        try:
            env.get_template(name)  # compiled now, or as kept since an earlier start
        except jinja2.TemplateSyntaxError as exc:
            problems.append(f"{name}:{exc.lineno}: {exc.message}")
    if problems:
        return problems, None
    trial = copy.copy(renderer)
    trial.env = env
    for kind in trial.kinds():
        try:
            trial.render(kind, to=(renderer.from_addr,), context=sample_context(),
                         now=sample_context()["record"]["created_at"])
        except TemplateError as exc:
            problems.append(f"{kind}: {exc}")
    return problems, (None if problems else env)


class Watcher:
    """Polled from the daemon's scheduler; the last good rules and templates stay in force."""

    def __init__(
        self, rules_dir: Path, templates_dir: Path, renderer: Renderer,
        install_rules: Callable[[RuleSet], None],
        report: Callable[[str, list[str], datetime], None],
    ):
        self.rules_dir, self.templates_dir = Path(rules_dir), Path(templates_dir)
        self.renderer = renderer
        self.install_rules = install_rules
        self.report = report  # (digest, problems, now): tell the admin about a broken set
        self._stat: tuple | None = None  # the files as last acted on
        self._seen: tuple | None = None  # the files as last looked at
        self._digest: str | None = None
        self._reported: set[str] = set()

    def check(self, now: datetime) -> list[str]:
        """Look once; reload when the files changed. Returns the problems found, if any."""
        key = stat_key(self.rules_dir, self.templates_dir)
        if key == self._stat:
            return []
        if self._digest is not None and key != self._seen:
            # Act only on files that stood still for one look: never on a half-written save.
            self._seen = key
            return []
        self._stat = self._seen = key
        snapshot = read_snapshot(self.rules_dir, self.templates_dir)
        if snapshot.digest == self._digest:
            return []
        first = self._digest is None
        self._digest = snapshot.digest
        problems, env = template_problems(snapshot.templates, self.templates_dir, self.renderer)
        rules = None
        try:
            rules = load_rules(self.rules_dir)
        except RuleError as exc:
            problems = [*(str(p) for p in exc.problems), *problems]
        if problems:
            for problem in problems:
                log.error("rule reload refused, the last good set stays: %s", problem)
            if snapshot.digest not in self._reported:
                self._reported.add(snapshot.digest)
                self.report(snapshot.digest, problems, now)
            return problems
        self.renderer.env = env  # a snapshot: a later broken edit cannot reach the sender
        self.install_rules(rules)
        if not first:
            log.info("rules and templates reloaded: %s",
                     ", ".join(f"{n} {v}" for n, v in sorted(rules.versions.items())))
        return []
