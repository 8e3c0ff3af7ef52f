"""A background traffic generator: a few threads sending GETs through the data plane until stopped."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Sequence

__all__ = ["Traffic"]


class Traffic:
    """Sends requests to ``urls`` in a loop, ``rate`` per second per thread at most; counts status codes."""

    def __init__(self, urls: Sequence[str], *, threads: int = 2, rate: float = 40.0) -> None:
        self._urls = list(urls)
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(threads)]
        self._interval = 1.0 / rate
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.statuses: Counter[int] = Counter()
        self.errors: list[str] = []

    def __enter__(self) -> Traffic:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)

    def _run(self, index: int) -> None:
        n = index
        while not self._stop.is_set():
            started = time.monotonic()
            url = self._urls[n % len(self._urls)]
            n += 1
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    response.read()
                    status = response.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            except OSError as exc:
                with self._lock:
                    self.errors.append(f"{url}: {exc}")
                status = 0
            with self._lock:
                self.statuses[status] += 1
            self._stop.wait(max(0.0, self._interval - (time.monotonic() - started)))
