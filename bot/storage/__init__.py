"""Storage: SQLAlchemy models, the session, and queries shared by handlers and jobs."""
from bot.storage import models  # noqa: F401  (registers the tables with the metadata)
from bot.storage.engine import db, init_app  # noqa: F401
