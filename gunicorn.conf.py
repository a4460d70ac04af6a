"""gunicorn reads ./gunicorn.conf.py by itself: the settings live in the package (huitouke.ops.gunicorn_conf)."""

from huitouke.ops.gunicorn_conf import *  # noqa: F403
