"""Who the gateway is: its address, its mail domain, and the domains it calls internal."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.model import Address, InboundMail


@dataclass(frozen=True)
class Identity:
    from_addr: Address
    domain: str  # our Message-IDs end in @domain (often a domain staff write from too)
    internal_domains: frozenset[str]
    name: str = "信息交流网关"
    signature: str = ""
    admin_address: str | None = None

    @property
    def own_addresses(self) -> frozenset[str]:
        return frozenset({self.from_addr.addr})

    def is_own(self, mail: InboundMail) -> bool:
        """Mail we sent ourselves, come back by a forward, an alias or a loop: our From or our
        X-Loop. Never the Message-ID's domain: staff clients write ids on the company's domain,
        which is often `domain` too. The Message-IDs we stored when sending are the other
        proof (usecases/own_mail.py), since only the database knows them."""
        if mail.from_addr.addr in self.own_addresses:
            return True
        return any(loop.strip().lower() in self.own_addresses for loop in mail.x_loop)

    def is_internal(self, address: str) -> bool:
        domain = address.rpartition("@")[2].lower()
        return any(domain == d or domain.endswith("." + d) for d in self.internal_domains)
