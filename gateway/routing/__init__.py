"""Routing: rule files and the directory loaded and checked, and a mail routed by them."""
