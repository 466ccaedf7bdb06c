"""gunicorn settings for production: threaded workers sized for the machine, bound on all interfaces.

Threads (gthread) rather than one request per process: the ingest requests a process serves at
the same time share one database commit (group commit, apps/ingest/group_commit.py), which is
what lets heartbeats keep up with the server itself. One process per core: Python runs one
thread of a process at a time, and PostgreSQL runs while a process waits for its commit. A third
process on two cores (measured with bench/ingest.py) made each process's groups smaller, so every
heartbeat cost more CPU and the p99 at 70 % load rose from ~40 to ~70-100 ms.
bench/ingest.py reads `workers` and `threads` from this file.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# The CPUs this process may run on (a cpuset or taskset), not every CPU of the host; a container
# limited by CPU quota instead should set GUNICORN_WORKERS.
_cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else multiprocessing.cpu_count()
workers = int(os.environ.get("GUNICORN_WORKERS", _cpus))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = int(os.environ.get("GUNICORN_THREADS", "16"))
# Requests that outlive this are stuck: a ping is milliseconds.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
keepalive = 5
# Each worker listens on its own SO_REUSEPORT socket, so the kernel spreads new connections evenly
# over the workers. On one shared socket whichever worker woke first took them: with long-lived
# keep-alive connections (an SDK's pool, a proxy) one worker served 5 of 6 requests while another idled.
reuse_port = os.environ.get("GUNICORN_REUSE_PORT", "1") == "1"
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
# No client address (%(h)s), no Basic username (%(u)s: the ingest key), no query string (%(r)s,
# %(q)s: `?key=`), no Referer (%(f)s: page URLs with addresses in them). Method, path, status,
# bytes and milliseconds are what an operator needs; the proxy in front keeps addresses if policy allows.
access_log_format = os.environ.get("GUNICORN_ACCESS_LOG_FORMAT",
                                   '%(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms "%(a)s"')
# The keyed product URLs hold the ingest key in the path itself: this logger redacts it.
logger_class = "apps.core.gunicorn_logging.RedactingLogger"
# Recycle workers now and then (a guard against slow leaks), but not every few seconds under ingest
# load: each restart boots Django again while its connections wait.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "100000"))
max_requests_jitter = max_requests // 10

