"""Fresh storage for each run: one PostgreSQL database per server, and an emptied Redis database for Hangar."""

from __future__ import annotations

import psycopg
import redis
from psycopg import sql


def database_url(server_url: str, name: str) -> str:
    """``postgresql://postgres@127.0.0.1:5432`` + ``hangar_bench`` -> the URL of that database."""
    return f"{server_url.rstrip('/')}/{name}"


def database_recreate(*, server_url: str, name: str) -> str:
    """Drop the database if it exists (closing its connections) and create it empty; return its URL."""
    with psycopg.connect(database_url(server_url, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return database_url(server_url, name)


def postgres_version(server_url: str) -> str:
    with psycopg.connect(database_url(server_url, "postgres")) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "unknown"


def redis_flush(url: str) -> None:
    """Empty the one Redis database the benchmark uses (its own number in the URL), nothing else."""
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()
