# Recipes for ledger. `just` comes with the dev extra (the rust-just package):
#   python3 -m venv .venv && .venv/bin/pip install -e '.[dev]' && .venv/bin/just --list

venv := ".venv"
py := venv / "bin/python"

# Create the virtual environment with the dev tools
setup:
    test -x {{py}} || python3 -m venv {{venv}}
    {{py}} -m pip install -q -e '.[dev]'

# Run the whole test suite (the command CI runs)
test:
    {{py}} -m pytest -n 2 -q

# ruff and mypy
lint:
    {{py}} -m ruff check .
    {{py}} -m mypy

# The main job on the embedded default (no key, no network)
demo:
    {{venv}}/bin/ledger demo

# Every benchmark; results land in docs/benchmarks.md
bench:
    {{py}} -m bench.bench_core
    {{py}} -m bench.bench_compare
    {{py}} -m bench.bench_pipeline
    {{py}} -m bench.bench_export
    {{py}} -m bench.bench_tui
    {{py}} -m bench.bench_scaling
    {{py}} -m bench.bench_memory
    {{py}} -m bench.bench_push
    {{py}} -m bench.bench_cases
    {{py}} -m bench.bench_interleaved

# The statistics' calibration by simulation (about 30 minutes on 2 cores); writes docs/statistics.md
calibration:
    {{py}} -m bench.bench_calibration

# Full-size reliability suite (8 x 500 concurrent appends, 200 kill -9s, lock, tamper); writes docs/reliability.md
torture *ARGS:
    {{py}} -m bench.torture {{ARGS}}

# ledger vs MLflow side by side; installs MLflow into its own venv ($MLFLOW_VENV, default /work/mlflow-venv) once
bench-mlflow *ARGS:
    {{py}} -m bench.bench_mlflow {{ARGS}}

# Rebuild ledger.db.example from real offline runs of every config in configs/
example:
    {{py}} -m pipeline.make_example
