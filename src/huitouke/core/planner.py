"""The query planner's statistics on SQLite: what lets it pick the right index.

Without statistics SQLite guesses that an equality on two indexed columns is selective, so
every customer query of a one-shop database (organisation = 1 AND merged_into IS NULL, true
of every row) walked the organisation's whole customer index instead of the index of the
column searched: the dashboard and a pinyin search read all 100,000 customers. `ANALYZE`
records how many rows each index prefix matches. It reads every index in full (about a second
per 100,000 customers with their orders): `analysis_limit` sampling was tried and misleads on
skewed columns (the first thousand entries of (organisation, orders_count) all had 0 orders,
so the never-bought count still scanned every customer). PostgreSQL's autovacuum keeps its
own statistics: nothing to do there.

Run after a large change of the data (the demo, an import) and daily (ops.tasks).
"""

from __future__ import annotations

import logging

from django.db import connection

log = logging.getLogger(__name__)


def refresh_planner_statistics() -> bool:
    """ANALYZE the SQLite database; False, doing nothing, on other databases."""
    if connection.vendor != "sqlite":
        return False
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA analysis_limit = 0")  # no sampling (see above)
        cursor.execute("ANALYZE")
    log.info("planner statistics refreshed")
    return True
