"""The use cases: one mail stored in one transaction, replies, chasing, archiving, system mail."""
