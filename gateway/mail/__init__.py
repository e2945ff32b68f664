"""Reading inbound mail: raw bytes to InboundMail, charsets, subject tags, quoted history."""
