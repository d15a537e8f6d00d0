"""The store: articles, deliveries and the posting log, in SQLite or PostgreSQL.

The database, not the process, is what guarantees "one article per source per guid and per
normalised URL" and "one delivery per article and channel".
"""

from syndicator.store.database import Database

__all__ = ["Database"]
