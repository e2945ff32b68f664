"""Whether a mail is the gateway's own, come back: only by what the gateway alone produces."""

from __future__ import annotations

from sqlalchemy.orm import Session

from gateway.db import mails
from gateway.identity import Identity
from gateway.model import InboundMail


def is_own_mail(session: Session, identity: Identity, mail: InboundMail) -> bool:
    """Our From or X-Loop, or a Message-ID we stored when sending; never a domain alone."""
    if identity.is_own(mail):
        return True
    return not mail.message_id_synthetic and mails.outbound_exists(session, mail.message_id)
