"""What the backup tests back up: an SQLite database of orders and their lines (equal counts: a consistent
snapshot keeps them equal), and the file pattern their backups are named by."""
from __future__ import annotations

import sqlite3
from pathlib import Path

PATTERN = "daily_*.tar.gz"


def make_db(path: Path, rows: int = 1000, wal: bool = False) -> Path:
    """`rows` orders and one line for each, in one transaction (WAL journal when `wal`)."""
    with sqlite3.connect(path) as conn:
        if wal:
            conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT NOT NULL)")
        conn.execute("CREATE TABLE lines (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL)")
        conn.executemany("INSERT INTO orders(id, item) VALUES (?, ?)", [(i, f"item-{i}") for i in range(rows)])
        conn.executemany("INSERT INTO lines(id, order_id) VALUES (?, ?)", [(i, i) for i in range(rows)])
    conn.close()
    return path
