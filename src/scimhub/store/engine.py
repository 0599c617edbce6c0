"""Engines and transactions for SQLite (default, embedded) and PostgreSQL (scale).

SQLite is put in WAL mode so readers never wait for the writer, and write transactions
start with `BEGIN IMMEDIATE` so two writers queue on the lock instead of deadlocking when a
read transaction tries to upgrade.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

from .checkpoint import BACKSTOP_PAGES, Checkpointer


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def utcnow() -> datetime:
    """Resource timestamps (meta.created/lastModified): whole seconds, as clients show them."""
    return datetime.now(UTC).replace(microsecond=0)


def event_time() -> datetime:
    """Event timestamps (audit trail, failures, request log): full precision, since the
    troubleshooter orders a failure against the recovery that came a moment later."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """SQLite hands timestamps back naive; everything scimhub stores is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


_NOTICES = "scimhub.notices"  # in a connection's `info`: topics its transaction touched


def notice(conn: Connection, topic: str) -> None:
    """Tell `topic`'s subscribers (`Database.subscribe`) once this write commits."""
    conn.info.setdefault(_NOTICES, set()).add(topic)


_custom_plans: ContextVar[bool] = ContextVar("scimhub_custom_plans", default=False)


@contextmanager
def custom_plans() -> Iterator[None]:
    """PostgreSQL: the transactions begun in here plan every statement for its values
    (`plan_cache_mode = force_custom_plan`), for a bulk load such as a sync round. psycopg
    prepares a statement run five times, and PostgreSQL may then keep a generic plan made
    while the tables were still empty: a sequential scan, for every lookup of the round
    after (measured: 76 ms per 500 links looked up, on 20,000; 1.4 ms planned for them)."""
    token = _custom_plans.set(True)
    try:
        yield
    finally:
        _custom_plans.reset(token)


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            parsed,
            json_serializer=_json_dumps,
            json_deserializer=orjson.loads,
            connect_args={"check_same_thread": False, "isolation_level": None},
            pool_size=pool_size,
            # The connection used last is the one handed out next: each SQLite connection
            # has its own page cache, and a FIFO pool spreads the event loop's requests over
            # every connection a background thread ever opened (measured: 4-5% of GET
            # throughput while webhook delivery polled twice a second).
            pool_use_lifo=True,
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    engine = create_engine(
        parsed,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
        pool_size=pool_size,
        max_overflow=pool_size,
        # No pre-ping: it is a round trip on every checkout. After a server restart the
        # first statement on a dead connection fails, SQLAlchemy sees the disconnect and
        # discards the whole pool, so one request per process gets a 503.
    )
    event.listen(engine, "begin", _postgresql_on_begin)
    return engine


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    for pragma in (
        "journal_mode=WAL",
        "synchronous=NORMAL",
        "foreign_keys=ON",
        "busy_timeout=10000",
        "temp_store=MEMORY",
        "cache_size=-32000",
        # Checkpoints are a background thread's work (`store.checkpoint`); this is the
        # backstop past which the committing writer does it itself.
        f"wal_autocheckpoint={BACKSTOP_PAGES}",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    # pysqlite's own transaction handling is off (isolation_level=None); we say BEGIN, or
    # nothing for a read made of one statement, which SQLite already runs on one snapshot.
    mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
    if mode != "NONE":
        conn.exec_driver_sql(f"BEGIN {mode}")


def _postgresql_on_begin(conn: Connection) -> None:
    if _custom_plans.get() and conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
        # Ends with the transaction; the pooled connection goes back as it was.
        conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")


class Database:
    """One engine and the two kinds of transaction the directory needs."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._checkpointer: Checkpointer | None = None
        self._subscribers: dict[str, list[Callable[[], None]]] = {}
        # Hot reads' own connections on a SQLite file, one per thread (store/hot.py).
        path = engine.url.database or ""
        self.has_hot_readers = (
            self.is_sqlite and bool(path) and path != ":memory:" and not path.startswith("file:")
        )
        self._readers = threading.local()
        self._all_readers: list[Any] = []
        self._readers_lock = threading.Lock()

    @classmethod
    def connect(cls, url: str) -> Database:
        db = cls(make_engine(url))
        path = db.engine.url.database
        if db.is_sqlite and path and path != ":memory:" and not path.startswith("file:"):
            db._checkpointer = Checkpointer(path).start()
        return db

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction: every statement sees the same snapshot."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """A read transaction on one snapshot on PostgreSQL too (REPEATABLE READ, where
        `read` is READ COMMITTED: each statement sees what committed before it), for reads
        whose parts must agree with each other, such as an organisation's export."""
        with self.engine.connect() as conn:
            if not self.is_sqlite:
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn

    @contextmanager
    def read_one(self) -> Iterator[Connection]:
        """For reads made of a single statement, which is its own snapshot: no BEGIN and
        ROLLBACK around it (on SQLite a third of a GET's database time; on PostgreSQL two
        of its three round trips)."""
        with self.engine.connect() as conn:
            if self.is_sqlite:
                conn = conn.execution_options(sqlite_begin="NONE")
            else:
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            if self.is_sqlite:
                conn = conn.execution_options(sqlite_begin="IMMEDIATE")
            try:
                with conn.begin():
                    yield conn
            except BaseException:
                conn.info.pop(_NOTICES, None)  # rolled back: nothing to tell
                raise
            topics = conn.info.pop(_NOTICES, None)
        if topics:
            for topic in topics:
                for subscriber in self._subscribers.get(topic, ()):
                    subscriber()

    def subscribe(self, topic: str, subscriber: Callable[[], None]) -> Callable[[], None]:
        """Call `subscriber` (in the committing thread; keep it short) after each write
        transaction of this process that gave `topic` a `notice`. Returns the unsubscribe.
        Other processes' writes are not seen: subscribers still poll, less often."""
        self._subscribers.setdefault(topic, []).append(subscriber)
        return lambda: self._subscribers[topic].remove(subscriber)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def ping(self) -> None:
        """One round trip; raises when the database cannot answer."""
        with self.read_one() as conn:
            conn.exec_driver_sql("SELECT 1")

    def hot_reader(self) -> Any:
        """This thread's own driver connection for single-statement reads on a SQLite file
        (`has_hot_readers`): autocommit, the pool's pragmas, held for the thread's life,
        so a read pays neither a pool checkout nor a checkin. Never used for writes."""
        conn = getattr(self._readers, "conn", None)
        if conn is None:
            dialect = self.engine.dialect
            assert dialect.dbapi is not None  # loaded with the engine
            cargs, cparams = dialect.create_connect_args(self.engine.url)
            conn = dialect.dbapi.connect(*cargs, **{**cparams, "isolation_level": None})
            _sqlite_on_connect(conn, None)
            self._readers.conn = conn
            with self._readers_lock:
                self._all_readers.append(conn)
        return conn

    def dispose(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
        with self._readers_lock:
            readers, self._all_readers = self._all_readers, []
        for conn in readers:
            conn.close()
        self._readers = threading.local()
        self.engine.dispose()
