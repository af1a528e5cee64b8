"""The response cache: provider + model + params + prompt -> completion, in memory and on disk.

On disk it is one JSON-lines file appended to as responses arrive (no SQL outside the ledger's
store); a torn last line from a crash is skipped when the file is read back.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any


class ResponseCache:
    def __init__(self, path: Path | None = None, enabled: bool = True) -> None:
        self.path = path
        self.enabled = enabled
        self._data: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        if path is not None and enabled and path.exists():
            with path.open(encoding="utf-8") as fh:
                for line in fh:
                    try:
                        item = json.loads(line)
                        self._data[item["key"]] = item["value"]
                    except (json.JSONDecodeError, KeyError, TypeError):
                        continue

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key: str) -> dict[str, Any] | None:
        if not self.enabled:
            return None
        with self._lock:
            return self._data.get(key)

    def put(self, key: str, value: dict[str, Any]) -> None:
        if not self.enabled:
            return
        with self._lock:
            self._data[key] = value
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps({"key": key, "value": value}, ensure_ascii=False) + "\n")
