"""Exit 0 when the PostgreSQL server in argv[1] accepts connections, 1 otherwise (used by make test)."""

import sys

import psycopg

try:
    psycopg.connect(sys.argv[1], connect_timeout=3).close()
except Exception as exc:  # any failure means "not reachable"; the message says why
    print(f"PostgreSQL not reachable: {exc}", file=sys.stderr)
    sys.exit(1)
