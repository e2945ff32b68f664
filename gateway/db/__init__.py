"""Storage, the only place SQL is written: models, engine, migrations, a repository per aggregate.

records, mails, outbox, notices, autoreplies, checkpoints, archive and reporting take a
Session the caller opened from `sessions.Sessions`; `_journal` is theirs alone.
"""
