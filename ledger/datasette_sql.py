"""The SQL of the canned queries ``ledger serve`` gives Datasette (pure functions, no Datasette).

Records are stored column by column (:mod:`ledger.columns`): ids as a JSON array, labels and
predictions as integer codes after a JSON dictionary, inputs and outputs as JSON arrays. The cases
query decodes them in plain SQL (``json_each`` for the arrays; ``hex``/``instr`` for the
little-endian int32 codes), so it runs in any Datasette, or any SQLite shell, without a plugin.

Two things are computed in Python when the metadata is written and put into the SQL as literals:
the variants of runs appended before variants were stored (their fingerprint needs SHA-256), and
each decision's reversal condition, compiled from :mod:`ledger.expr` into SQL with the same
meaning as :func:`ledger.decisions.tripped_triggers` (what it watches, ``confirm`` consecutive
runs, a run missing a value skipped).
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from . import expr
from .decisions import watches

if TYPE_CHECKING:
    from .store import Ledger

_HEX = "'0123456789ABCDEF'"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def u32(hex_expr: str) -> str:
    """The unsigned little-endian 32-bit integer whose 8 hex digits ``hex_expr`` gives."""
    def byte(k: int) -> str:
        return (f"((instr({_HEX}, substr({hex_expr}, {2 * k + 1}, 1)) - 1) * 16"
                f" + instr({_HEX}, substr({hex_expr}, {2 * k + 2}, 1)) - 1)")

    return " + ".join(f"{byte(k)} * {256 ** k}" for k in range(4))


def _cells(source: str, owner: str, owners: str, names: str) -> str:
    """CTEs that turn stored columns into one row per (owner, column, record index, value).

    ``source`` is ``records`` or ``evalset_columns``, ``owner`` its id column, ``owners`` the SQL
    list of owner ids, ``names`` the SQL condition on column names."""
    p = source[:2]
    return f"""
{p}_col AS MATERIALIZED (
  SELECT {owner} AS owner, name, kind, data,
         CASE WHEN kind = 'codes' THEN {u32('hex(substr(data, 1, 4))')} END AS head
  FROM {source} WHERE {owner} IN ({owners}) AND ({names})
),
{p}_ids AS MATERIALIZED (
  SELECT c.owner, CAST(j.key AS INTEGER) AS i, j.value AS record_id
  FROM {p}_col c, json_each(CAST(c.data AS TEXT)) j WHERE c.name = 'id'
),
{p}_dict AS MATERIALIZED (
  SELECT c.owner, c.name, CAST(j.key AS INTEGER) AS k, j.value AS v
  FROM {p}_col c, json_each(CASE WHEN c.kind = 'codes' THEN CAST(substr(c.data, 5, c.head) AS TEXT)
                                 ELSE CAST(c.data AS TEXT) END) j
  WHERE c.name <> 'id'
),
{p}_hex AS MATERIALIZED (
  SELECT ids.owner, c.name, ids.i, ids.record_id,
         CASE WHEN c.kind = 'codes' THEN hex(substr(c.data, 5 + c.head + 4 * ids.i, 4)) END AS h
  FROM {p}_ids ids JOIN {p}_col c ON c.owner = ids.owner AND c.name <> 'id'
),
{p}_cell AS MATERIALIZED (
  SELECT x.owner, x.name, x.record_id, d.v
  FROM {p}_hex x JOIN {p}_dict d ON d.owner = x.owner AND d.name = x.name
   AND d.k = CASE WHEN x.h IS NULL THEN x.i ELSE {u32('x.h')} END
)"""


def cases_sql() -> str:
    """The records two runs (``:a``, the baseline, and ``:b``) answered differently: lost (A
    right, B wrong), gained (A wrong, B right) or changed (both wrong), with the inputs (the
    run's, else its evaluation set's) and both outputs."""
    run_names = "name IN ('id', 'label', 'prediction', 'stratum') OR name LIKE 'input.%' OR name LIKE 'output.%'"
    set_names = "name = 'id' OR name LIKE 'input.%'"
    return f"""WITH{_cells('records', 'run_id', ':a, :b', run_names)},
{_cells('evalset_columns', 'evalset_id', 'SELECT evalset_id FROM runs WHERE id IN (:a, :b)', set_names)},
pair AS (
  SELECT a.record_id,
    (SELECT v FROM re_cell WHERE owner = a.owner AND record_id = a.record_id AND name = 'label') AS label,
    (SELECT v FROM re_cell WHERE owner = a.owner AND record_id = a.record_id AND name = 'prediction') AS prediction_a,
    (SELECT v FROM re_cell WHERE owner = b.owner AND record_id = b.record_id AND name = 'prediction') AS prediction_b,
    (SELECT v FROM re_cell WHERE owner = a.owner AND record_id = a.record_id AND name = 'stratum') AS stratum,
    COALESCE(
      (SELECT json_group_object(substr(name, 7), v) FROM re_cell
        WHERE owner = b.owner AND record_id = b.record_id AND name LIKE 'input.%' AND v IS NOT NULL HAVING count(*) > 0),
      (SELECT json_group_object(substr(name, 7), v) FROM ev_cell
        WHERE owner = (SELECT evalset_id FROM runs WHERE id = :b) AND record_id = b.record_id
          AND name LIKE 'input.%' AND v IS NOT NULL HAVING count(*) > 0)) AS inputs,
    (SELECT json_group_object(substr(name, 8), v) FROM re_cell
      WHERE owner = a.owner AND record_id = a.record_id AND name LIKE 'output.%' AND v IS NOT NULL HAVING count(*) > 0) AS output_a,
    (SELECT json_group_object(substr(name, 8), v) FROM re_cell
      WHERE owner = b.owner AND record_id = b.record_id AND name LIKE 'output.%' AND v IS NOT NULL HAVING count(*) > 0) AS output_b
  FROM re_ids a JOIN re_ids b ON b.owner = :b AND b.record_id = a.record_id
  WHERE a.owner = :a
)
SELECT record_id, label, prediction_a, prediction_b,
  CASE WHEN prediction_a = label THEN 'lost' WHEN prediction_b = label THEN 'gained' ELSE 'changed' END AS change,
  stratum, inputs, output_a, output_b
FROM pair
WHERE prediction_a IS NOT prediction_b
ORDER BY change = 'lost' DESC, change = 'gained' DESC, record_id"""


def _legacy_variants(ledger: Ledger) -> str:
    """A VALUES list of (run id, fingerprint, name) for runs stored before variants were."""
    rows = ledger.conn.execute("SELECT id FROM runs WHERE kind = 'run' AND variant IS NULL ORDER BY id").fetchall()
    if not rows:
        return "SELECT NULL AS id, NULL AS fingerprint, NULL AS name WHERE 0"
    runs = ledger.runs(ids=[r[0] for r in rows])
    values = ",\n    ".join(
        f"({r.id}, {_quote(r.variant or '')}, {'NULL' if r.variant_name is None else _quote(r.variant_name)})"
        for r in runs)
    return f"SELECT column1 AS id, column2 AS fingerprint, column3 AS name FROM (VALUES\n    {values})"


def variants_sql(ledger: Ledger) -> str:
    """Every run of kind ``run`` with its variant (``v3``, numbered by first run, as ``ledger ls
    --variants`` numbers them) and name, grouped by variant."""
    return f"""WITH legacy AS ({_legacy_variants(ledger)}),
r AS (
  SELECT runs.*, COALESCE(runs.variant, legacy.fingerprint) AS fp,
         COALESCE(runs.variant_name, legacy.name) AS vname
  FROM runs LEFT JOIN legacy ON legacy.id = runs.id WHERE runs.kind = 'run'
),
v AS (
  SELECT fp, ROW_NUMBER() OVER (ORDER BY MIN(id)) AS number, COUNT(*) AS runs_in_variant,
         (SELECT vname FROM r r2 WHERE r2.fp = r.fp AND r2.vname IS NOT NULL ORDER BY r2.id LIMIT 1) AS name
  FROM r GROUP BY fp
)
SELECT 'v' || v.number AS variant, v.name AS variant_name, v.runs_in_variant, r.id AS run, r.experiment,
  r.status, r.created_at, r.hypothesis, r.sample_size, r.precision, r.recall, r.f1,
  r.cost_per_record_usd, r.time_per_record_s, e.name AS evalset,
  json_extract(r.body, '$.imported.from') AS imported_from, r.fp AS fingerprint
FROM r JOIN v ON v.fp = r.fp LEFT JOIN evalsets e ON e.id = r.evalset_id
ORDER BY v.number, r.id"""


LATEST_DECISIONS_SQL = """SELECT d.id AS decision, d.created_at, d.experiment,
  json_extract(d.refs, '$[0]') AS about_run, r.variant_name, r.hypothesis AS run_hypothesis,
  json_extract(d.body, '$.why') AS why, json_extract(d.body, '$.revisit_when') AS revisit_when,
  r.precision, r.recall, r.f1, r.cost_per_record_usd
FROM runs d LEFT JOIN runs r ON r.id = json_extract(d.refs, '$[0]')
WHERE d.kind = 'decision'
ORDER BY d.id DESC
LIMIT 100"""

_BUILTIN = {
    "precision": "r.precision", "recall": "r.recall", "f1": "r.f1", "accuracy": "r.accuracy",
    "balanced_accuracy": "json_extract(r.metrics, '$.balanced_accuracy')",
    "mcc": "json_extract(r.metrics, '$.mcc')",
    "cost_per_record": "r.cost_per_record_usd", "time_per_record": "r.time_per_record_s",
    "sample_size": "NULLIF(r.sample_size, 0)",
    "block_rate": ("(CASE WHEN json_extract(r.metrics, '$.n') > 0 AND r.positive_label IS NOT NULL THEN "
                   "COALESCE((SELECT json_extract(j.value, '$.predicted') FROM json_each(r.metrics, '$.classes') j "
                   "WHERE j.key = r.positive_label), 0) * 1.0 / json_extract(r.metrics, '$.n') END)"),
}
_OPS = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "==": "=", "!=": "<>"}


def _operand(node: expr.Num | expr.Name) -> str:
    if isinstance(node, expr.Num):
        return repr(float(node.value))
    found = _BUILTIN.get(node.name)
    if found is not None:
        return found
    return f"(SELECT j.value FROM json_each(r.reported_metrics) j WHERE j.key = {_quote(node.name)})"


def compile_condition(node: expr.Node) -> str:
    """SQL that is 1 where :func:`ledger.expr.evaluate` is True, 0 where False and NULL where it
    raises MissingVariable (``or``/``and`` stop at the first operand that decides, as Python's do)."""
    if isinstance(node, expr.Compare):
        ops = [_operand(o) for o in node.operands]
        missing = " OR ".join(f"{o} IS NULL" for o in ops)
        pairs = " AND ".join(f"{x} {_OPS[op]} {y}" for (x, y), op in zip(itertools.pairwise(ops), node.ops, strict=True))
        return f"(CASE WHEN {missing} THEN NULL ELSE ({pairs}) END)"
    if isinstance(node, expr.Not):
        return f"(NOT {compile_condition(node.operand)})"
    parts = [compile_condition(p) for p in node.operands]
    out = parts[-1]
    for part in reversed(parts[:-1]):
        decide = f"WHEN {part} THEN 1" if node.op == "or" else f"WHEN NOT {part} THEN 0"
        out = f"(CASE WHEN {part} IS NULL THEN NULL {decide} ELSE {out} END)"
    return out


def triggers_sql(ledger: Ledger) -> str:
    """The decisions whose reversal trigger has tripped, as ``ledger triggers`` finds them: of the
    runs appended after the decision (of the decided variant, or of its experiment with scope
    ``experiment``; successful ones unless the decision includes failed runs), the first on which the
    condition holds for ``confirm`` consecutive runs (a run missing a value is skipped), and how
    many later watched runs meet it too."""
    parts: list[str] = []
    for w in watches(ledger):
        d, decided, node, confirm, condition = w.decision, w.decided, w.node, w.confirm, w.decision.body["revisit_when"]
        if w.scope == "experiment":
            scope = f"r.experiment = {_quote(decided.experiment)}"
        else:
            scope = f"COALESCE(r.variant, (SELECT fingerprint FROM legacy WHERE legacy.id = r.id)) = {_quote(w.variant or '')}"
        status = "" if w.include_failed else " AND r.status = 'ok'"
        parts.append(f"""SELECT * FROM (
  WITH w AS (
    SELECT r.id, r.created_at, r.precision, r.recall, r.f1, r.cost_per_record_usd, r.time_per_record_s,
           {compile_condition(node)} AS hit
    FROM runs r WHERE r.kind = 'run' AND r.id > {d.id} AND {scope}{status}
  ),
  e AS (SELECT *, SUM(1 - hit) OVER (ORDER BY id) AS misses FROM w WHERE hit IS NOT NULL),
  s AS (SELECT *, SUM(hit) OVER (PARTITION BY misses ORDER BY id) AS streak FROM e),
  t AS (SELECT * FROM s WHERE hit = 1 AND streak >= {confirm} ORDER BY id LIMIT 1)
  SELECT {d.id} AS decision, {decided.id} AS about_run, t.id AS tripped_by_run, t.created_at AS tripped_at,
    {_quote(str(condition))} AS condition, {confirm} AS confirm, t.precision, t.recall, t.f1,
    t.cost_per_record_usd, t.time_per_record_s,
    (SELECT COUNT(*) FROM e WHERE e.id > t.id AND e.hit = 1) AS later_hits,
    json_extract((SELECT body FROM runs WHERE id = {d.id}), '$.why') AS why
  FROM t
)""")
    if not parts:
        return ("SELECT NULL AS decision, NULL AS about_run, NULL AS tripped_by_run, NULL AS tripped_at, "
                "NULL AS condition, NULL AS confirm, NULL AS precision, NULL AS recall, NULL AS f1, "
                "NULL AS cost_per_record_usd, NULL AS time_per_record_s, NULL AS later_hits, NULL AS why WHERE 0")
    union = "\nUNION ALL\n".join(parts)
    return f"WITH legacy AS ({_legacy_variants(ledger)})\nSELECT * FROM (\n{union}\n) ORDER BY decision"
