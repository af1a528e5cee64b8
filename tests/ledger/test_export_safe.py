"""The pieces that make exports safe: formula neutralisation, Markdown cells, redaction, Pareto."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ledger.export.charts import nice_ticks
from ledger.export.safe import REDACTED, Redactor, env_secrets, is_secret_key, md_cell, neutralize


def test_formula_characters_get_a_leading_quote() -> None:
    for text in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "\nx", '=HYPERLINK("http://x","y")'):
        assert neutralize(text) == "'" + text
    assert neutralize("plain") == "plain"
    assert neutralize("a=b") == "a=b"
    # numbers are numbers: a negative delta is not text
    assert neutralize(-0.5) == -0.5
    assert neutralize(None) is None


@given(st.text())
def test_markdown_cell_never_breaks_a_row(text: str) -> None:
    cell = md_cell(text)
    assert "\n" not in cell and "\r" not in cell
    # every pipe in the cell is escaped (preceded by an odd number of backslashes)
    for i, ch in enumerate(cell):
        if ch == "|":
            run = len(cell[:i]) - len(cell[:i].rstrip("\\"))
            assert run % 2 == 1
    assert "<" not in cell.replace("<br>", "")


def test_secret_keys_by_name() -> None:
    for name in ("api_key", "provider.api_key", "OPENAI_API_KEY", "token", "auth.token", "secret",
                 "db_password", "headers.Authorization", "key", "x-api-key", "client_secret"):
        assert is_secret_key(name), name
    for name in ("input_tokens", "output_tokens", "max_tokens", "top_k", "author", "keyword",
                 "retrieve.hybrid_weight", "monkey_business"):
        assert not is_secret_key(name), name


def test_redactor_by_name_keeps_numbers_and_by_value_everywhere() -> None:
    env = {"ANTHROPIC_API_KEY": "sk-ant-abcdef123456", "GITHUB_TOKEN": "ghp_zzzzzzzzzz",
           "SHORT_TOKEN": "1", "HOME": "/root"}
    secrets = env_secrets(env)
    assert secrets == ["sk-ant-abcdef123456", "ghp_zzzzzzzzzz"]
    r = Redactor(secrets)
    data = {"provider": {"api_key": "whatever", "max_token": 512}, "notes": "used sk-ant-abcdef123456 today",
            "list": ["ghp_zzzzzzzzzz"], "token": None}
    out = r.value(data)
    assert out == {"provider": {"api_key": REDACTED, "max_token": 512}, "notes": f"used {REDACTED} today",
                   "list": [REDACTED], "token": None}
    text = '{"x": "sk-ant-abcdef123456"}'
    assert "sk-ant" not in r.serialized(text)


def test_nice_ticks_cover_the_range() -> None:
    for lo, hi in ((0.0, 1.0), (0.00034, 0.0017), (53.8, 130.0), (5.0, 5.0), (-2.0, 3.0)):
        ticks = nice_ticks(lo, hi)
        assert ticks[0] <= lo and ticks[-1] >= hi
        assert ticks == sorted(ticks) and len(ticks) <= 8


def test_importing_the_export_package_loads_no_heavy_library() -> None:
    import subprocess
    import sys

    code = (
        "import sys, ledger.export, ledger.export.report, ledger.export.html, ledger.export.md, "
        "ledger.export.csv_, ledger.export.json_, ledger.export.xlsx, ledger.export.parquet, ledger.cli.export; "
        "print(sorted({'pandas', 'numpy', 'pyarrow', 'openpyxl', 'scipy', 'jinja2'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
