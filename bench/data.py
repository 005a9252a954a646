"""Build the benchmark databases with `generate_series`: deterministic, realistic to compress.

Two kinds of data. Text-heavy (`orders`, the default): rows look like an order table, ids,
timestamps, amounts, a status word and a free-text note made of words, numbers and md5 hex, so
gzip gets roughly the 3x a real business table gives (pure random bytes would not compress at
all, `repeat('x')` would compress 100x). Numeric (`readings`): a sensor table of integers,
timestamps, floats and numerics, no text, as measurement and ledger tables are. Words
(`messages`): short rows of text made of English words drawn with a skewed (Zipf-like)
frequency, as comments, log lines and descriptions are; no hex, so it compresses as prose does.
Every value is a function of the row number, so two builds hold the same data.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from psycopg import sql

from tests.support.postgres import PostgresServer

ROWS_PER_MIB = 5_600
"""Rows of the order table per MiB of database (heap and primary key), measured on PostgreSQL 15."""
READINGS_PER_MIB = 11_000
"""Rows of the readings table per MiB of database (heap and primary key), measured likewise."""
MESSAGES_PER_MIB = 8_300
"""Rows of the messages table per MiB of database (heap and primary key), measured likewise."""
ORDERS = "orders"
READINGS = "readings"
MESSAGES = "messages"
WORDS = (  # noqa: SIM905 - a sentence reads better than 145 quoted words
    "the of and to in a is that for it as was with be by on not he this are or his from at which "
    "but have an they you were her she there would their we him been has when who will more no "
    "if out so said what up its about into than them can only other new some could time these "
    "two may then do first any my now such like our over man me even most made after also did "
    "many before must through back years where much your way well down should because each just "
    "those people how too little state good very make world still own see men work long get "
    "here between both life being under never day same another know while last might us great "
    "old year off come since against go came right used take three"
).split()
LOAD_WORKERS = 2
BATCH_ROWS = 500_000
MANY_TABLES_BATCH = 500

ORDERS_TABLE = """
CREATE TABLE {table} (
    id bigint NOT NULL,
    created timestamptz NOT NULL,
    customer integer NOT NULL,
    amount numeric(12, 2) NOT NULL,
    status text NOT NULL,
    note text NOT NULL
)
"""
ORDERS_ROWS = """
INSERT INTO {table}
SELECT g,
       timestamptz '2020-01-01 00:00:00+00' + g * interval '17 seconds',
       ((g * 7919) % 100000)::integer,
       ((g * 37) % 100000) / 100.0,
       (ARRAY['new', 'paid', 'shipped', 'returned', 'cancelled'])[1 + g % 5],
       'order ' || g || ' for customer ' || (g * 7919) % 100000 || ' via '
           || (ARRAY['web', 'phone', 'shop', 'partner'])[1 + (g / 7) % 4] || ': '
           || md5(g::text) || ' ' || substr(md5((g * 31)::text), 1, (8 + g % 24)::integer)
FROM generate_series({first}::bigint, {last}::bigint) AS g
"""
READINGS_TABLE = """
CREATE TABLE {table} (
    id bigint NOT NULL,
    taken timestamptz NOT NULL,
    sensor integer NOT NULL,
    reading double precision NOT NULL,
    amount numeric(14, 4) NOT NULL,
    counter integer NOT NULL,
    flags smallint NOT NULL
)
"""
READINGS_ROWS = """
INSERT INTO {table}
SELECT g,
       timestamptz '2020-01-01 00:00:00+00' + g * interval '3 seconds',
       ((g * 7919) % 5000)::integer,
       sin(g / 1000.0) * 100 + ((g * 37) % 1000) / 100.0,
       ((g * 104729) % 10000000) / 10000.0,
       ((g * 31) % 100000)::integer,
       (g % 7)::smallint
FROM generate_series({first}::bigint, {last}::bigint) AS g
"""
MESSAGES_TABLE = """
CREATE TABLE {table} (
    id bigint NOT NULL,
    at timestamptz NOT NULL,
    level text NOT NULL,
    customer text NOT NULL,
    message text NOT NULL
)
"""
_WORD = "(v)[1 + floor({n} * power((hashtext(g::text || ':{k}') & 1048575) / 1048576.0, 3))::int]"
"""Word k of row g: u^3 for a uniform u makes the first words of the list the most frequent."""
MESSAGES_ROWS = (
    """
INSERT INTO {table}
SELECT g,
       timestamptz '2020-01-01 00:00:00+00' + g * interval '7 seconds',
       (ARRAY['INFO', 'INFO', 'INFO', 'WARN', 'ERROR'])[1 + g % 5],
       'customer-' || (g * 7919) % 50000,
       """
    + " || ' ' || ".join(_WORD.format(n=len(WORDS), k=k) for k in range(10))
    + """
FROM generate_series({first}::bigint, {last}::bigint) AS g,
     (SELECT ARRAY["""
    + ", ".join(f"'{word}'" for word in WORDS)
    + """] AS v) AS vocabulary
"""
)
MANY_TABLES = """
DO $$
BEGIN
    FOR i IN {first}..{last} LOOP
        EXECUTE format(
            'CREATE TABLE item_%s (id integer PRIMARY KEY, label text NOT NULL, price numeric)', i);
        EXECUTE format(
            'INSERT INTO item_%s SELECT g, md5(g::text), g * 1.5 FROM generate_series(1, 5) g', i);
    END LOOP;
END
$$
"""


@dataclass(frozen=True)
class DatabaseSpec:
    """A benchmark database: its name and either a size in MiB (in `tables` tables) or a count
    of small tables (`many_tables`)."""

    name: str
    mebibytes: int = 0
    tables: int = 1
    many_tables: int = 0
    kind: str = ORDERS

    @property
    def rows(self) -> int:
        """Return the rows of all its tables."""
        per_mib = {READINGS: READINGS_PER_MIB, MESSAGES: MESSAGES_PER_MIB}.get(
            self.kind, ROWS_PER_MIB
        )
        return self.mebibytes * per_mib

    def sized(self, mebibytes: int) -> DatabaseSpec:
        """Return this database, or one like it of another size (to check a figure quickly)."""
        if mebibytes == self.mebibytes:
            return self
        return replace(self, name=f"{self.name}_{mebibytes}", mebibytes=mebibytes)

    def describe(self) -> str:
        """Return what the database holds, for RESULTS.md."""
        if self.many_tables:
            return f"{self.many_tables:,} tables of 5 rows with primary keys"
        what = {ORDERS: "order", READINGS: "numeric readings", MESSAGES: "word messages"}[self.kind]
        tables = f"1 {what} table" if self.tables == 1 else f"{self.tables} {what} tables"
        return f"{tables}, {self.rows:,} rows"


def build(server: PostgresServer, spec: DatabaseSpec) -> None:
    """Create `spec` on `server` and fill it; the database must not exist yet."""
    server.create_database(spec.name)
    if spec.many_tables:
        _many_tables(server, spec)
    else:
        _orders(server, spec)
    server.execute("VACUUM ANALYZE", dbname=spec.name)
    # Write the load out now, not while a figure is being timed.
    server.execute("CHECKPOINT")


def _orders(server: PostgresServer, spec: DatabaseSpec) -> None:
    rows_per_table = spec.rows // spec.tables
    create, insert = {
        ORDERS: (ORDERS_TABLE, ORDERS_ROWS),
        READINGS: (READINGS_TABLE, READINGS_ROWS),
        MESSAGES: (MESSAGES_TABLE, MESSAGES_ROWS),
    }[spec.kind]
    tables = [sql.Identifier(f"{spec.kind}_{number}") for number in range(1, spec.tables + 1)]
    loads: list[sql.Composed] = []
    for table in tables:
        server.execute(sql.SQL(create).format(table=table), dbname=spec.name)
        for first in range(1, rows_per_table + 1, BATCH_ROWS):
            last = min(first + BATCH_ROWS - 1, rows_per_table)
            loads.append(
                sql.SQL(insert).format(
                    table=table, first=sql.Literal(first), last=sql.Literal(last)
                )
            )
    _in_parallel(server, spec.name, loads)
    # Built after the load: one sort per table instead of millions of index inserts.
    keys = [sql.SQL("ALTER TABLE {} ADD PRIMARY KEY (id)").format(table) for table in tables]
    _in_parallel(server, spec.name, keys)


def _many_tables(server: PostgresServer, spec: DatabaseSpec) -> None:
    # One transaction per batch: a single one would need a lock slot per table created.
    for first in range(1, spec.many_tables + 1, MANY_TABLES_BATCH):
        last = min(first + MANY_TABLES_BATCH - 1, spec.many_tables)
        server.execute(MANY_TABLES.format(first=first, last=last), dbname=spec.name)


def _in_parallel(server: PostgresServer, database: str, statements: Sequence[sql.Composed]) -> None:
    with ThreadPoolExecutor(LOAD_WORKERS) as pool:
        futures = [pool.submit(server.execute, statement, database) for statement in statements]
        for future in futures:
            future.result()
