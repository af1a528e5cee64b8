"""The run's environment: package versions read from the installed folders' names agree with
``importlib.metadata`` (the reference), for every installed distribution."""

from __future__ import annotations

from importlib import metadata

from ledger.envinfo import PACKAGES, environment, installed_versions


def test_installed_versions_agree_with_importlib_metadata_for_every_distribution() -> None:
    names = sorted({d.metadata["Name"] for d in metadata.distributions()} | set(PACKAGES))
    assert len(names) > 50
    expected = {}
    for name in names:
        try:
            expected[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    assert installed_versions([*names, "no-such-package-here"]) == expected
    assert environment()["packages"] == {n: expected[n] for n in PACKAGES if n in expected}
