"""The SMTP edge: the outbox sender, with retries, backoff and dead letters."""
