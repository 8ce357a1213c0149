"""Poster render times: one PNG, one single-page PDF and a 20-entrance office PDF (`python -m bench.posters`)."""

from __future__ import annotations

import json
import os
import statistics
import time
import uuid
from collections.abc import Callable

ENTRANCES = 20


def _median_ms(work: Callable[[], object], *, runs: int) -> float:
    work()  # warm-up: fonts load and caches fill once per process, not per poster
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1)


def bench_posters(*, runs: int = 5, office_runs: int = 3) -> dict:
    """Median render times in ms on the configured database; the throwaway office is rolled back."""
    from django.db import transaction

    from offices.models import Entrance, Office
    from offices.posters import office_posters_pdf, poster_render_pdf, poster_render_png

    with transaction.atomic():
        office = Office.objects.create(
            name=f"Dinas Bench {uuid.uuid4().hex[:8]} Kota Denpasar", address="Jl. Gajah Mada No. 1", capacity=100
        )
        entrances = Entrance.objects.bulk_create(
            Entrance(office=office, name=f"Pintu {number:02d}") for number in range(1, ENTRANCES + 1)
        )
        entrance = entrances[0]
        result = {
            "png_ms": _median_ms(lambda: poster_render_png(entrance=entrance), runs=runs),
            "pdf_ms": _median_ms(lambda: poster_render_pdf(entrances=[entrance]), runs=runs),
            f"office_pdf_{ENTRANCES}_ms": _median_ms(lambda: office_posters_pdf(office=office), runs=office_runs),
            "png_bytes": len(poster_render_png(entrance=entrance)),
            f"office_pdf_{ENTRANCES}_bytes": len(office_posters_pdf(office=office)),
            "runs": runs,
            "office_runs": office_runs,
        }
        transaction.set_rollback(True)
    return result


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "denpasar_checkin.settings")
    # Like `make`, a developer's run is the embedded mode unless the caller says otherwise.
    os.environ.setdefault("DEBUG", "true")
    import django

    django.setup()
    print(json.dumps(bench_posters(), indent=2))
