"""Recent dashboard answers, shared by every browser looking at the same view.

An answer depends only on the request (its path, its parameters, the time range they resolve to) and
on what the lake holds, which changes only when the ledger's version moves (a commit of ingest or
compaction). So twenty people on one dashboard cost one query per change of the data, and a request
for an answer that is being computed waits for it rather than computing it again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable


class _Pending:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: bytes | None = None
        self.error: BaseException | None = None


class Answers:
    """The last `size` answers, least recently used out first."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._done: OrderedDict[Hashable, bytes] = OrderedDict()
        self._pending: dict[Hashable, _Pending] = {}

    def get(self, key: Hashable, compute: Callable[[], bytes]) -> bytes:
        """The answer for `key`: kept, being computed by another request, or computed now."""
        with self._lock:
            if key in self._done:
                self._done.move_to_end(key)
                return self._done[key]
            pending = self._pending.get(key)
            owner = pending is None
            if owner:
                pending = self._pending[key] = _Pending()
        if not owner:
            pending.done.wait()
            if pending.error is not None:
                raise pending.error
            return pending.value
        try:
            pending.value = compute()
        except BaseException as exc:
            pending.error = exc
            raise
        finally:
            with self._lock:
                del self._pending[key]
                if pending.error is None:
                    self._done[key] = pending.value
                    while len(self._done) > self.size:
                        self._done.popitem(last=False)
            pending.done.set()
        return pending.value
