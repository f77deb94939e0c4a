"""The sandbox's Sidekiq: delayed background jobs on a couple of threads, and a way to wait for them.

GitLab answers 202 for repository deletion and bulk tag deletion and does the work later;
tests need the same asynchrony plus `wait_idle()` to know when the work is done.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from typing import Callable

log = logging.getLogger(__name__)
WORKERS = 2  # DeleteContainerRepositoryWorker::MAX_CAPACITY


class Jobs:
    def __init__(self, workers: int = WORKERS) -> None:
        self._queue: list[tuple[float, int, str, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._running = 0
        self._stopped = False
        self.failures: list[str] = []
        self._threads = [
            threading.Thread(target=self._loop, name=f"sandbox-job-{i}", daemon=True) for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def schedule(self, name: str, fn: Callable[[], None], *, delay: float = 0.0) -> None:
        with self._cond:
            heapq.heappush(self._queue, (time.monotonic() + delay, next(self._seq), name, fn))
            self._cond.notify_all()

    def pending(self) -> int:
        with self._cond:
            return len(self._queue) + self._running

    def wait_idle(self, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._running:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.05))
            return True

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=5)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and (not self._queue or self._queue[0][0] > time.monotonic()):
                    wait = self._queue[0][0] - time.monotonic() if self._queue else None
                    self._cond.wait(wait if wait is None else max(wait, 0.001))
                if self._stopped:
                    return
                _, _, name, fn = heapq.heappop(self._queue)
                self._running += 1
            try:
                fn()
            except Exception as exc:  # a failed job must not kill the worker
                log.exception("sandbox job %s failed", name)
                self.failures.append(f"{name}: {exc}")
            finally:
                with self._cond:
                    self._running -= 1
                    self._cond.notify_all()
