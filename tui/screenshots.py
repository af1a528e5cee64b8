"""Write the README screenshots with Textual's own SVG export.

``python -m tui.screenshots [--db ledger.db.example] [--out docs]`` writes ``tui-runs.svg`` (the
runs table) and ``tui-compare.svg`` (the newest run compared with its parent). The ledger is copied
to a temporary folder first: nothing is written to it.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
from pathlib import Path

from .app import make_app
from .screens.compare import CompareScreen
from .screens.runs import RunsScreen

SIZE = (130, 36)


async def _shoot(db: Path, out: Path, a: int | None, b: int | None) -> list[Path]:
    app = make_app(db, poll_interval=0)
    written: list[Path] = []
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        while not screen.loaded or screen.workers:
            await pilot.pause(0.05)
        await pilot.pause(0.2)
        written.append(Path(app.save_screenshot(filename="tui-runs.svg", path=str(out))))
        if a is not None and b is not None:
            screen.marks.update({a: "A", b: "B"})
        await pilot.press("c")
        compare = app.screen
        assert isinstance(compare, CompareScreen)
        while compare.view is None:
            await pilot.pause(0.05)
        await pilot.pause(0.2)
        written.append(Path(app.save_screenshot(filename="tui-compare.svg", path=str(out))))
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", type=Path, default=Path("ledger.db.example"))
    parser.add_argument("--out", type=Path, default=Path("docs"))
    parser.add_argument("--compare", nargs=2, type=int, metavar=("A", "B"),
                        help="runs to compare (default: the newest run against its parent)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "ledger.db"
        shutil.copyfile(args.db, db)
        a, b = args.compare if args.compare else (None, None)
        for path in asyncio.run(_shoot(db, args.out.resolve(), a, b)):
            print(path)


if __name__ == "__main__":
    main()
