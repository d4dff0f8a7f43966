"""gunicorn's settings for leadflow: the image, docker-compose.yml and the benchmark all serve
with these (each passes `--config`). Command-line flags still win over them.

WEB_WORKERS and WEB_THREADS size it; by default one process a core, of 8 threads each. A
tracking call spends most of its time waiting for PostgreSQL (its commit's flush), so a
process needs several threads to keep its core busy; more processes than cores only make them
take turns on the cores and evict each other's caches. Measured on two cores (BENCHMARKS.md,
session 8), in four pairs of runs against 4 processes of 4 threads (the former default): `/v1/batch`
stored 23 to 49 % more events a second and `/v1/track` served 23 to 53 % more calls, with 20 to
33 % less web CPU a track call; the bare handlers served the same two ways did not differ.
"""

from __future__ import annotations

import os

from leadflow.lib.env import envint


def _cores() -> int:
    # The cores this process may run on (a container's cpuset), not the host's count.
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 2


# A bad value stops gunicorn with an error that names it (0 workers would serve nothing).
workers = envint("WEB_WORKERS", _cores(), minimum=1)
threads = envint("WEB_THREADS", 8, minimum=1)
worker_class = "gthread"
# Tracking calls come in bursts from many senders: queue them rather than refuse them.
backlog = 2048
timeout = 120
# A worker is replaced after this many requests, against slow leaks. A new worker costs about
# a second of CPU to start Django: at 2,000 (the former setting) a busy install restarted each
# worker every few seconds.
max_requests = 100_000
max_requests_jitter = 10_000
