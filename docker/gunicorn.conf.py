"""gunicorn settings for production: threaded workers sized for the machine, bound on all interfaces.

Threads (gthread) rather than one request per process: the ingest requests a process serves at
the same time share one database commit (group commit, apps/ingest/group_commit.py), which is
what lets heartbeats keep up with the server itself. cpu + 1 processes keep every core busy while
one process's threads wait for its commit (Python runs one thread of a process at a time).
bench/ingest.py reads `workers` and `threads` from this file.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() + 1))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = int(os.environ.get("GUNICORN_THREADS", "16"))
# Requests that outlive this are stuck: a ping is milliseconds.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
keepalive = 5
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
# Recycle workers now and then (a guard against slow leaks), but not every few seconds under ingest
# load: each restart boots Django again while its connections wait.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "100000"))
max_requests_jitter = max_requests // 10

