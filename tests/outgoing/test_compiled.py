"""Compiled templates kept between starts: used when they fit, never in a mail's way."""

from __future__ import annotations

import logging
import re
import shutil
import stat

import jinja2
import pytest
from answered import GATEWAY, NOW, STAFF
from paths import ROOT

from gateway.outgoing.compiled import options_key
from gateway.outgoing.render import Renderer, make_environment, sample_context

TEMPLATES = ROOT / "templates"
DOMAIN = "gateway.corp.example"


@pytest.fixture
def compiles(monkeypatch) -> list[str]:
    """The names of the templates Jinja compiles from source from now on."""
    names: list[str] = []
    original = jinja2.Environment.compile

    def counting(self, source, name=None, filename=None, raw=False, defer_init=False):
        names.append(name)
        return original(self, source, name, filename, raw, defer_init)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    return names


def render(templates, compiled, kind="ack") -> bytes:
    renderer = Renderer(templates, domain=DOMAIN, from_addr=GATEWAY, compiled_dir=compiled)
    out = renderer.render(kind, to=STAFF, context=sample_context(), now=NOW,
                          message_id=f"fixed.{kind}@{DOMAIN}")
    boundaries = re.findall(rb'boundary="([^"]+)"', out.raw)
    return re.sub(b"|".join(map(re.escape, boundaries)), b"BOUNDARY", out.raw)


def test_a_second_start_loads_the_templates_compiled_by_the_first(tmp_path, compiles):
    compiled = tmp_path / "compiled"
    first = render(TEMPLATES, compiled)
    assert {"ack.subject.j2", "ack.txt.j2", "ack.html.j2", "_layout.html.j2"} <= set(compiles)
    assert stat.S_IMODE(compiled.stat().st_mode) == 0o700  # the templates are the gateway's
    compiles.clear()
    assert render(TEMPLATES, compiled) == first
    assert compiles == []


def test_an_edited_template_is_compiled_again(tmp_path, compiles):
    templates, compiled = tmp_path / "templates", tmp_path / "compiled"
    shutil.copytree(TEMPLATES, templates)
    render(templates, compiled)
    path = templates / "ack.txt.j2"
    path.write_text(path.read_text(encoding="utf-8") + "修改后的结尾。\n", encoding="utf-8")
    compiles.clear()
    assert "修改后的结尾。".encode() in render(templates, compiled)
    assert compiles == ["ack.txt.j2"]


def test_a_folder_that_cannot_be_made_leaves_rendering_as_without_a_cache(tmp_path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with caplog.at_level(logging.WARNING):
        out = render(TEMPLATES, blocker / "compiled")
    assert out == render(TEMPLATES, None)
    assert "compiled templates not kept" in caplog.text


def test_a_folder_gone_while_running_only_costs_the_keeping(tmp_path, caplog):
    compiled = tmp_path / "compiled"
    renderer = Renderer(TEMPLATES, domain=DOMAIN, from_addr=GATEWAY, compiled_dir=compiled)
    shutil.rmtree(compiled)
    with caplog.at_level(logging.WARNING):
        out = renderer.render("ack", to=STAFF, context=sample_context(), now=NOW)
    assert b"Subject:" in out.raw
    assert "not kept" in caplog.text


def test_a_damaged_file_is_compiled_again_and_replaced(tmp_path, compiles, caplog):
    compiled = tmp_path / "compiled"
    first = render(TEMPLATES, compiled)
    for path in compiled.iterdir():
        path.write_bytes(path.read_bytes()[:20])  # Jinja's header, then cut short
    compiles.clear()
    with caplog.at_level(logging.WARNING):
        assert render(TEMPLATES, compiled) == first
    assert "unreadable" in caplog.text and compiles
    compiles.clear()
    assert render(TEMPLATES, compiled) == first
    assert compiles == []


def test_environments_that_compile_differently_keep_apart(tmp_path):
    env = make_environment(TEMPLATES)
    other = make_environment(TEMPLATES)
    other.trim_blocks = False
    assert options_key(env, ("html",)) == options_key(make_environment(TEMPLATES), ("html",))
    assert options_key(env, ("html",)) != options_key(other, ("html",))
    assert options_key(env, ("html",)) != options_key(env, ("html", "htm"))
