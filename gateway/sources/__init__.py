"""Where incoming mail comes from: an IMAP mailbox, a local Maildir, or a pipe from the MTA."""
