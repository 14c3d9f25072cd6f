"""Campaign persistence: the store interfaces, the SQLite backend, its migrations and lease."""
