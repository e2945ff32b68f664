"""Outgoing mail: templates rendered into messages, and who may get an automatic answer."""
