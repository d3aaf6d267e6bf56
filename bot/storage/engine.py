"""The database handle and engine tuning (the tables, and their UTC datetime type, are in
models.py)."""
from __future__ import annotations

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """WAL and a busy timeout let web workers, the RQ worker and the CLI share one SQLite file."""
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Well inside the platform's 5-second reply limit: a writer waits at most 3 s for the lock.
    cursor.execute("PRAGMA busy_timeout=3000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def init_app(app) -> None:
    """Bind the database and Alembic migrations (`flask db upgrade`) to the app."""
    from bot.config import ROOT

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)


BULK = 1000  # rows written at once after which PostgreSQL's statistics are refreshed


def bulk_written(rows: int, *models) -> None:
    """After thousands of rows were written at once: on PostgreSQL, ANALYZE their tables, so
    the next queries are planned for the rows there now. Until autovacuum notices (a minute or
    more), the planner thinks a notice to 5,000 has a dozen recipients and joins them in a
    nested loop: 通知情况 took 1.2 s instead of 10 ms. SQLite needs nothing."""
    if rows >= BULK and db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy import text

        for model in models:
            db.session.execute(text(f"ANALYZE {model.__table__.name}"))
