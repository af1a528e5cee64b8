"""Anchors: the ledger's head written somewhere its writer does not control.

The hash chain shows edits made around the append-only triggers, and the witness beside the file
(:mod:`ledger.witness`) shows a lost tail. Neither can show a chain recomputed from scratch, a
forged run appended with plain ``sqlite3`` and a recomputed hash (the hash has no key), or a
witness rewritten along with the file: whoever can write the file can do all of that. An anchor
can: ``ledger anchor --out FILE`` appends one line naming both chains' heads (runs and evaluation
sets) to a file the user keeps elsewhere (commits to git, publishes, mails to an auditor), signed
with HMAC-SHA256 when ``--key KEYFILE`` names a key kept outside the ledger. ``ledger verify
--against FILE`` then checks every anchored head is still in the ledger, unchanged: a rewrite of
anything up to the last anchor is caught, and with a key an anchor cannot be forged either. Runs
appended after the last anchor are covered by the next one: anchor often (e.g. in CI).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import LedgerError, UsageError

if TYPE_CHECKING:
    from .store import Ledger


@dataclass(frozen=True)
class Anchor:
    """One anchored head."""

    created_at: str
    ledger: str
    runs: tuple[int, str]
    evalsets: tuple[int, str]
    verified: bool
    mac: str | None = None

    def payload(self) -> dict[str, Any]:
        return {"ledger_anchor": 1, "created_at": self.created_at, "ledger": self.ledger,
                "runs": {"id": self.runs[0], "hash": self.runs[1]},
                "evalsets": {"id": self.evalsets[0], "hash": self.evalsets[1]},
                "verified": self.verified}

    def to_dict(self) -> dict[str, Any]:
        out = self.payload()
        if self.mac is not None:
            out["hmac_sha256"] = self.mac
        return out


def read_key(path: Path | None) -> bytes | None:
    if path is None:
        return None
    try:
        key = path.read_bytes().strip()
    except OSError as exc:
        raise LedgerError(f"cannot read the anchor key {path} ({exc.strerror})") from None
    if len(key) < 16:
        raise UsageError(f"the anchor key {path} is too short (at least 16 bytes; e.g. `head -c 32 /dev/urandom | base64 > {path}`)")
    return key


def _mac(payload: dict[str, Any], key: bytes) -> str:
    import hashlib
    import hmac

    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def make_anchor(ledger: Ledger, key: bytes | None) -> Anchor:
    """The ledger's current heads, verified first (the anchor says whether it verified)."""
    from .store import utc_now

    report = ledger.verify()
    anchor = Anchor(utc_now(), str(ledger.path.resolve()), (report.head_id or 0, report.head_hash),
                    (report.evalsets_head_id or 0, report.evalsets_head_hash), report.ok)
    if key is None:
        return anchor
    return Anchor(anchor.created_at, anchor.ledger, anchor.runs, anchor.evalsets, anchor.verified,
                  _mac(anchor.payload(), key))


def read_anchors(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(line number, anchor object) for every anchor in ``path`` (JSON lines)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LedgerError(f"cannot read anchors from {path} ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not an anchor file (not UTF-8 text)") from None
    out = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            raise UsageError(f"{path}:{lineno}: not an anchor (not JSON)") from None
        if not isinstance(obj, dict) or obj.get("ledger_anchor") != 1:
            raise UsageError(f"{path}:{lineno}: not an anchor written by `ledger anchor`")
        out.append((lineno, obj))
    if not out:
        raise UsageError(f"{path} holds no anchor; write one with `ledger anchor --out {path}`")
    return out


def check_anchors(ledger: Ledger, path: Path, key: bytes | None) -> list[str]:
    """What in the ledger disagrees with the anchors in ``path`` (and, with ``key``, which anchors
    are not signed by it)."""
    import hmac

    problems: list[str] = []
    for lineno, obj in read_anchors(path):
        where = f"{path.name}:{lineno}"
        if key is not None:
            mac = obj.get("hmac_sha256")
            payload = {k: v for k, v in obj.items() if k != "hmac_sha256"}
            if not isinstance(mac, str) or not hmac.compare_digest(mac, _mac(payload, key)):
                problems.append(f"anchor {where} is not signed with this key: forged or altered")
                continue
        for table, what in (("runs", "run"), ("evalsets", "evaluation set")):
            head = obj.get(table) or {}
            hid, hhash = head.get("id"), str(head.get("hash", "")).strip().lower()
            if not isinstance(hid, int) or hid <= 0:
                continue
            row = ledger.conn.execute(f"SELECT hash FROM {table} WHERE id = ?", (hid,)).fetchone()
            if row is None:
                problems.append(f"{what} {hid}, anchored in {where}, is missing: this is an older or truncated copy")
            elif row[0] != hhash:
                problems.append(f"{what} {hid} is not the one anchored in {where} (hash {str(row[0])[:16]}…, "
                                f"anchored {hhash[:16]}…): the ledger was rewritten up to there")
    return problems
