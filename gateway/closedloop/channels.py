"""传递方式: the ways a record travelled (邮件, 电话, 会议), stored as one key such as `email+phone`."""

from __future__ import annotations

# In the order the register writes them; a key not listed here is kept, after these.
CHANNEL_LABELS: dict[str, str] = {"email": "邮件", "phone": "电话", "meeting": "会议",
                                  "paper": "纸质"}
SEPARATOR = "+"


def channel_keys(stored: str | None) -> list[str]:
    """`email+phone` → ["email", "phone"]; an empty or missing value is plain email."""
    keys = [k.strip() for k in (stored or "").split(SEPARATOR) if k.strip()]
    return _ordered(keys or ["email"])


def with_channel(stored: str | None, key: str) -> str:
    """The stored value once `key` is added (unchanged when it is there already)."""
    return SEPARATOR.join(_ordered([*channel_keys(stored), key]))


def channel_labels(stored: str | None) -> list[str]:
    """["邮件", "电话"]: what `records show --json` calls `channels`."""
    return [CHANNEL_LABELS.get(k, k) for k in channel_keys(stored)]


def channel_text(stored: str | None) -> str:
    """邮件+电话: the register's 传递方式 column."""
    return SEPARATOR.join(channel_labels(stored))


def _ordered(keys: list[str]) -> list[str]:
    known = list(CHANNEL_LABELS)
    unique = list(dict.fromkeys(keys))
    return sorted(unique, key=lambda k: (known.index(k) if k in known else len(known),
                                         unique.index(k)))
