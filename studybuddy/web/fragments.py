"""Rendered page parts kept by what they show (fragment caching for the busiest pages).

A part may be kept only if its key holds everything it renders (the language included); no
token, no user-specific text outside the key. Least recently used parts go past `size`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

Part = TypeVar("Part", str, bytes)


class FragmentCache(Generic[Part]):
    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, Part] = OrderedDict()
        self._lock = threading.Lock()  # waitress serves from several threads

    def get(self, key: Hashable, render: Callable[[], Part]) -> Part:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found
        made = render()  # outside the lock: two threads may render the same part once each
        with self._lock:
            self._items[key] = made
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return made
