"""The `gateway` command line: one module per command group; the work is done below it."""
