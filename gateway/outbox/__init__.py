"""The SMTP edge: the outbox sender with retries and backoff, in a process of its own."""
