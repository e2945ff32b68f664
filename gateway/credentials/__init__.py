"""OAuth2 access tokens for XOAUTH2 logins: where they come from, and their in-memory cache."""
