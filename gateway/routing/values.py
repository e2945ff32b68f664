"""Typed values from rule files: each reader returns the value or raises Invalid saying why."""

from __future__ import annotations

import re
from collections.abc import Callable
from email.utils import parseaddr
from typing import Any

from gateway.model import Address, Urgency

_ADDR = re.compile(r"^[^@\s<>,;]+@[a-z0-9-]+(\.[a-z0-9-]+)+$")
_DOMAIN = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)+$")
_PREFIX = re.compile(r"^[A-Z]{1,6}$")  # subject.RECORD_ID reads back 1–6 capitals
_TEMPLATE = re.compile(r"^[A-Za-z0-9_.-]+$")
# Urgency as admins write it: the stable English key or the Chinese word.
_URGENCY_WORDS = {**{u.value: u for u in Urgency}, **{u.label: u for u in Urgency},
                  "一般": Urgency.NORMAL, "緊急": Urgency.URGENT}


class Invalid(ValueError):
    """A value that does not fit its key; the message says what was expected."""


def string(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"expected a non-empty string, got {value!r}")
    return value.strip()


def free_text(value: Any) -> str:
    if not isinstance(value, str):
        raise Invalid(f"expected a string, got {value!r}")
    return value.strip()


def strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]  # one word written without brackets is still a list of one
    if not isinstance(value, list) or not value:
        raise Invalid(f"expected a non-empty list of strings, got {value!r}")
    return tuple(string(v) for v in value)


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Invalid(f"expected true or false, got {value!r}")
    return value


def address(value: Any) -> Address:
    text = string(value)
    name, addr = parseaddr(text)
    addr = addr.lower()
    if "," in text or not _ADDR.match(addr):
        raise Invalid(f"not a mail address: {text!r} (write 'name <local@domain>')")
    return Address(name, addr)


def addresses(value: Any) -> tuple[Address, ...]:
    return tuple(address(v) for v in strings(value))


_MOBILE = re.compile(r"^\+?[0-9][0-9-]{5,19}$")


def mobile(value: Any) -> str:
    """A mobile number as the chat robots take it: digits, an optional +country, no spaces."""
    text = string(value).replace(" ", "")
    if not _MOBILE.match(text):
        raise Invalid(f"not a mobile number: {value!r} (write e.g. '13800138000')")
    return text


def domain(value: Any) -> str:
    domain = string(value).lower().lstrip("@")
    if not _DOMAIN.match(domain):
        raise Invalid(f"not a mail domain: {value!r}")
    return domain


def one_of(choices: tuple[str, ...]) -> Callable[[Any], str]:
    def read(value: Any) -> str:
        text = string(value)
        if text not in choices:
            raise Invalid(f"{text!r} is not one of {', '.join(choices)}")
        return text
    return read


def prefix(value: Any) -> str:
    text = string(value)
    if not _PREFIX.match(text):
        raise Invalid(f"{text!r} is not 1–6 capital letters (e.g. NX)")
    return text


def template(value: Any) -> str:
    text = string(value)
    if not _TEMPLATE.match(text):
        raise Invalid(f"{text!r} is not a template name such as 'ack'")
    return text


def regex(value: Any) -> re.Pattern[str]:
    try:
        return re.compile(string(value), re.IGNORECASE)
    except re.error as exc:
        raise Invalid(f"bad regular expression {value!r}: {exc}") from None


def urgencies(value: Any) -> frozenset[Urgency]:
    words = strings(value)
    unknown = [w for w in words if w.lower() not in _URGENCY_WORDS]
    if unknown:
        raise Invalid(f"unknown urgency {', '.join(unknown)}; use normal, urgent or critical")
    return frozenset(_URGENCY_WORDS[w.lower()] for w in words)


def globs(value: Any) -> tuple[str, ...]:
    globs = tuple(g.lower() for g in strings(value))
    bad = [g for g in globs if "@" not in g or any(c.isspace() for c in g)]
    if bad:
        raise Invalid(f"not an address pattern: {', '.join(bad)} (e.g. '*@customer.example')")
    return globs




def deadlines(value: Any) -> dict[str, dict[str, str]]:
    """A rule's deadline overrides, shaped like config's [deadlines]: urgency → kind → duration."""
    from gateway.deadlines.policy import DeadlinePolicy

    if not isinstance(value, dict):
        raise Invalid('expected a table such as { urgent = { response = "8 hours" } }')
    try:
        DeadlinePolicy.default().with_overrides(value, where="deadlines")
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    return {str(u): {str(k): str(v) for k, v in kinds.items()} for u, kinds in value.items()}
