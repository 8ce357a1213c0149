"""Does a referral's answer time tell its kind? (`python -m bench.referrals`); writes results/referrals.json.

Serves the app as the benchmark does (gunicorn with gunicorn.conf.py, DEBUG off, PostgreSQL and Redis), then sends
anonymous check-ins one at a time over one kept-alive connection: red, black, unknown and a name that does not
match, taken in turn so that drift in the machine touches every kind alike. Each kind's answer must be the same
see_officer; the report gives each kind's median and spread and the largest difference between medians.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import time
from pathlib import Path

from . import infra
from .cli import WORKDIR, _environ
from .server import Server

RESULTS = Path(__file__).resolve().parent / "results" / "referrals.json"
KINDS = ("red", "black", "unknown", "name_mismatch")
TARGET_MS = 0.3


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.referrals", description=__doc__)
    parser.add_argument("--samples", type=int, default=200, help="timed answers per kind (200)")
    parser.add_argument("--warmup", type=int, default=30, help="untimed rounds first (30)")
    parser.add_argument(
        "--workers", type=int, default=2 * (os.cpu_count() or 1), help="gunicorn WSGI workers (2 per core)"
    )
    return parser.parse_args(argv)


def _people() -> tuple[str, dict[str, dict[str, str]]]:
    """One entrance with room for everyone, and the NIK and name each kind of referral scans with."""
    import datetime

    from django.utils import timezone

    from denpasar_checkin.nik import nik_hash, nik_mask
    from offices.models import Office
    from offices.services import office_save
    from screening.models import HealthStatus, StatusSource
    from visitors.services import visit_checkin

    office = office_save(office=Office(name="Kantor Rujukan", address="Jl. Bench", sector="kritikal", capacity=100_000))
    entrance = office.entrances.create(name="Pintu Rujukan")

    def nik(serial: int) -> str:
        return f"5171010101{90:02d}{serial:04d}"

    def registered(serial: int, name: str, **fields) -> None:
        HealthStatus.objects.create(
            nik_hash=nik_hash(nik(serial)),
            nik_masked=nik_mask(nik(serial)),
            name=name,
            source=StatusSource.REGISTRY,
            refreshed_at=timezone.now(),
            **fields,
        )

    registered(1, "Made Merah", doses=0)
    registered(2, "Made Hitam", doses=2, case_status="positive", isolated_until=datetime.date(2099, 1, 1))
    registered(4, "Made Pemilik", doses=2)
    visit_checkin(entrance_code=entrance.code, nik=nik(4), name="Made Pemilik")  # the owner, inside
    return entrance.code, {
        "red": {"nik": nik(1), "name": "Made Merah"},
        "black": {"nik": nik(2), "name": "Made Hitam"},
        "unknown": {"nik": nik(3), "name": "Made Tanpa Status"},
        "name_mismatch": {"nik": nik(4), "name": "Orang Asing"},
    }


def _checkin(conn: http.client.HTTPConnection, code: str, person: dict[str, str]) -> tuple[float, dict]:
    body = json.dumps({"entrance": code, **person})
    started = time.perf_counter()
    conn.request("POST", "/api/v1/checkins/", body=body, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    answer = response.read()
    elapsed_ms = (time.perf_counter() - started) * 1000
    if response.status != 200:
        raise RuntimeError(f"check-in answered {response.status}: {answer[:200]!r}")
    return elapsed_ms, json.loads(answer)


def _sample(*, port: int, code: str, people: dict[str, dict[str, str]], samples: int, warmup: int) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    times: dict[str, list[float]] = {kind: [] for kind in KINDS}
    answers: dict[str, set[str]] = {kind: set() for kind in KINDS}
    for round_ in range(warmup + samples):
        # The order turns every round, so no kind always follows the same one.
        for kind in KINDS[round_ % len(KINDS) :] + KINDS[: round_ % len(KINDS)]:
            elapsed, body = _checkin(conn, code, people[kind])
            answers[kind].add(json.dumps({k: body[k] for k in ("outcome", "reason", "message", "visit")}))
            if round_ >= warmup:
                times[kind].append(elapsed)
    conn.close()
    return {"times": times, "answers": {kind: sorted(found) for kind, found in answers.items()}}


def _summary(times: dict[str, list[float]]) -> dict:
    kinds = {}
    for kind, values in times.items():
        quartiles = statistics.quantiles(values, n=4)
        kinds[kind] = {
            "samples": len(values),
            "median_ms": round(statistics.median(values), 3),
            "p25_ms": round(quartiles[0], 3),
            "p75_ms": round(quartiles[2], 3),
            "iqr_ms": round(quartiles[2] - quartiles[0], 3),
        }
    medians = [kind["median_ms"] for kind in kinds.values()]
    return {"kinds": kinds, "median_spread_ms": round(max(medians) - min(medians), 3), "target_ms": TARGET_MS}


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    WORKDIR.mkdir(parents=True, exist_ok=True)
    infra.services_start()
    port = infra.free_port()
    env = _environ(port=port, workers=args.workers, max_requests=0, rate_limits=False)
    os.environ.update(env)
    infra.database_recreate()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", "--noinput", verbosity=0)
    code, people = _people()
    server = Server(env=dict(os.environ), port=port, log_path=WORKDIR / "referrals-server.log")
    try:
        server.start()
        measured = _sample(port=port, code=code, people=people, samples=args.samples, warmup=args.warmup)
    finally:
        server.stop()
    result = {"answers": measured["answers"], **_summary(measured["times"])}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    same_answer = len({tuple(found) for found in measured["answers"].values()}) == 1
    if not same_answer:
        print("referrals answered differently", file=sys.stderr)
    return 0 if same_answer and result["median_spread_ms"] < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
