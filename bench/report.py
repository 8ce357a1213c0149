"""The benchmark's outputs: one row per run in a table on the terminal, and bench/results/latest.json."""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def wrk_summary(load: dict, *, redirects_answer: bool = False) -> dict:
    """A wrk JSON summary (bench/lua/common.lua) in the results' shape; `redirects_answer`: a 3xx is the run's
    expected answer (the visitor form's 303 to its result URL), not counted in non_2xx."""
    duration_s = load["duration_us"] / 1e6
    latency = load["latency_us"]
    status = {k: v for k, v in load.get("status", {}).items() if v}
    socket = {k: v for k, v in load["errors"].items() if k != "status" and v}
    five_xx = status.get("s5xx", 0)
    return {
        "rps": round(load["requests"] / duration_s, 1) if duration_s else 0.0,
        "p50_ms": round(latency["p50"] / 1000, 2),
        "p95_ms": round(latency["p95"] / 1000, 2),
        "p99_ms": round(latency["p99"] / 1000, 2),
        "max_ms": round(latency["max"] / 1000, 2),
        "errors": sum(socket.values()) + five_xx,
        "non_2xx": load["requests"] - status.get("s2xx", 0) - (status.get("s3xx", 0) if redirects_answer else 0),
        "requests": load["requests"],
        "duration_s": round(duration_s, 2),
        "status": status,
        "socket_errors": sum(socket.values()),
        "socket_error_kinds": socket,
        "outcomes": dict(sorted(load.get("outcomes", {}).items(), key=lambda kv: -kv[1])),
    }


def paced_summary(load: dict) -> dict:
    status = load["status"]
    socket_errors = sum(load["socket_errors"].values())
    return {
        "rps": round(load["answered"] / load["duration_s"], 1),
        "target_rps": round(load["target_rate"], 1),
        "p50_ms": load["latency_ms"]["p50"],
        "p95_ms": load["latency_ms"]["p95"],
        "p99_ms": load["latency_ms"]["p99"],
        "max_ms": load["latency_ms"]["max"],
        "errors": socket_errors + status.get("s5xx", 0),
        "non_2xx": load["answered"] - status.get("s2xx", 0),
        "requests": load["requests"],
        "duration_s": round(load["duration_s"], 2),
        "status": status,
        "socket_errors": socket_errors,
        "socket_error_kinds": load["socket_errors"],
        "open_loop": True,
        "max_ms_by_second": load.get("max_ms_by_second", []),
    }


def _cell(value, width: int, digits: int = 1) -> str:
    if value is None:
        text = "-"
    elif isinstance(value, float):
        text = f"{value:.{digits}f}"
    else:
        text = str(value)
    return text.rjust(width)


def table_print(results: dict) -> None:
    runs = results["runs"]
    ratios = results["ratios"]
    header = (
        f"{'run':<22}{'rps':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'requests':>10}{'non-2xx':>9}"
        f"{'errors':>8}{'/floor':>8}{'/bare':>8}  correct"
    )
    print()
    print(header)
    print("-" * len(header))
    for name, run in runs.items():
        if run.get("skipped"):
            print(f"{name:<22}  skipped: {run['skipped']}")
            continue
        if "p50_ms" not in run:  # a run with a shape of its own (chaos): its counts, not a latency row
            counts = {key: value for key, value in run.items() if isinstance(value, int | float | bool)}
            print(f"{name:<22}  {counts}")
            continue
        check = results["correctness"].get(name, {})
        print(
            f"{name:<22}{_cell(run['rps'], 9)}{_cell(run['p50_ms'], 9, 2)}{_cell(run['p95_ms'], 9, 2)}"
            f"{_cell(run['p99_ms'], 9, 2)}{_cell(run['requests'], 10)}{_cell(run['non_2xx'], 9)}"
            f"{_cell(run['errors'], 8)}{_cell(ratios.get(f'{name}_vs_floor'), 8, 2)}"
            f"{_cell(ratios.get(f'{name}_vs_bare'), 8, 2)}  {'ok' if check.get('ok') else 'FAIL'}"
        )
    print()
    print(f"queries per check-in: {results['queries_per_checkin']}   "
          f"server peak RSS: {results['server_peak_rss_mb']} MB")  # fmt: skip
    for target, verdict in results["targets"].items():
        print(f"target  {target:<48} {verdict}")
    for name, check in results["correctness"].items():
        if not isinstance(check, dict):
            continue
        for violation in check.get("violations", []):
            print(f"VIOLATION  {name}: {violation}")


def results_write(results: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "latest.json"
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return path
