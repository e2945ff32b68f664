"""Compiled templates kept between starts, so that a start does not compile them all again."""

from __future__ import annotations

import hashlib
import logging
import pickle
from pathlib import Path

import jinja2
from jinja2.bccache import Bucket

log = logging.getLogger(__name__)


class CompiledTemplates(jinja2.FileSystemBytecodeCache):
    """Jinja's compiled code of each template, in a private folder of the storage directory.

    A start, and each reload, loads a template's code instead of lexing, parsing and
    compiling its source: most of what making the templates ready costs. An entry serves
    only the same source (Jinja keeps its checksum), the same Jinja and Python (Jinja's
    magic) and the same environment options (`options`, in the file names). The cache never
    stands in a mail's way: a folder it cannot write or a file it cannot read only means the
    template is compiled as it would be without a cache.
    """

    def __init__(self, folder: Path, options: str):
        super().__init__(str(folder), pattern=f"template-{options}-%s.code")

    @classmethod
    def in_folder(cls, folder: Path, env: jinja2.Environment, autoescaped: tuple[str, ...]
                  ) -> CompiledTemplates | None:
        """The cache for `env` in `folder` (made 0700 if new); None if it cannot be made.

        `autoescaped` are the extensions `env` escapes HTML in: escaping is compiled in.
        """
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            log.warning("compiled templates not kept in %s: %s", folder, exc)
            return None
        return cls(folder, options_key(env, autoescaped))

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except (OSError, EOFError, ValueError, TypeError, pickle.UnpicklingError) as exc:
            # unreadable, or cut short (Jinja keeps the checksum pickled, the code marshalled)
            log.warning("compiled template %s unreadable, compiling it again: %s",
                        bucket.key, exc)
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError as exc:
            log.warning("compiled template %s not kept: %s", bucket.key, exc)


def options_key(env: jinja2.Environment, autoescaped: tuple[str, ...]) -> str:
    """What of `env` shapes the code Jinja generates, as a short digest."""
    shape = (
        type(env).__qualname__,
        env.block_start_string, env.block_end_string,
        env.variable_start_string, env.variable_end_string,
        env.comment_start_string, env.comment_end_string,
        env.line_statement_prefix, env.line_comment_prefix,
        env.trim_blocks, env.lstrip_blocks, env.newline_sequence, env.keep_trailing_newline,
        env.optimized, env.is_async, sorted(env.extensions), autoescaped,
    )
    return hashlib.sha256(repr(shape).encode()).hexdigest()[:12]
