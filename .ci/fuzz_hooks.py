"""Schemathesis hooks for .ci/fuzz: part of the generated requests use the seeded data, so they get past "unknown".

Random entrance codes, office ids and NIKs only ever reach the 404 and 400 answers. Here about half of the generated
check-in and check-out bodies carry a real entrance code, most of those a registry person's NIK and name too (so
admissions, pending scans and check-outs happen); exposure reports get real people and recent start dates; office,
entrance and scan ids are sometimes real ones. FUZZ_DATA (JSON, written by .ci/fuzz after seeding) holds them.
"""

from __future__ import annotations

import datetime
import json
import os
import sys
from functools import partial
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import strategies as st
from hypothesis.internal import lambda_sources

# CPython 3.11's ast.parse can raise SystemError ("AST constructor recursion depth mismatch") deep in a call stack
# (seen with 3.11.7). Hypothesis parses lambdas' source to describe strategies, and that crashed Schemathesis' coverage
# phase now and then; with this guard only a strategy's description is lost.
_lambda_description = getattr(lambda_sources, "_lambda_description", None)


def _lambda_description_guarded(f: Any) -> str:
    try:
        return _lambda_description(f)
    except SystemError:
        return "lambda: <unknown>"


if _lambda_description is not None:
    lambda_sources._lambda_description = _lambda_description_guarded  # noqa: SLF001

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from screening.names import names_match  # noqa: E402 - the app's own rule (plain Python, no Django)

DATA: dict[str, Any] = json.loads(os.environ.get("FUZZ_DATA") or "{}")
ENTRANCE_CODES: list[str] = DATA.get("entrance_codes", [])
PEOPLE: list[list[str]] = DATA.get("people", [])  # [nik, name]
PATH_IDS: dict[str, list[int]] = {
    "office_id": DATA.get("office_ids", []),
    "entrance_id": DATA.get("entrance_ids", []),
    # Scans written by the runs before this one (check-ins by anonymous callers come first).
    "scan_id": list(range(1, 60)),
}
PERSON_PATHS = ("/checkins/", "/checkouts/", "/exposures/")
NAME_OF = {nik: name for nik, name in PEOPLE}
PUBLIC_OUTCOMES = {"admitted", "see_officer", "denied", "queued"}


def _path(ctx: Any) -> str:
    operation = getattr(ctx, "operation", None)
    return getattr(operation, "path", "") or ""


def _seeded(body: dict[str, Any], *, code: str | None, person: list[str] | None, since_days: int | None) -> Any:
    body = dict(body)
    if code is not None:
        body["entrance"] = code
    if person is not None:
        body["nik"], body["name"] = person
        # Random children's NIKs and live-QR passes would turn nearly every such check-in away.
        body.pop("dependants", None)
        body.pop("live", None)
    if since_days is not None:
        body["since"] = (datetime.date.today() - datetime.timedelta(days=since_days)).isoformat()
    return body


@schemathesis.hook
def flatmap_body(ctx: Any, body: Any) -> st.SearchStrategy:
    path = _path(ctx)
    if not isinstance(body, dict) or not path.endswith(PERSON_PATHS) or not PEOPLE:
        return st.just(body)
    exposures = path.endswith("/exposures/")
    seeded = st.builds(
        partial(_seeded, body),
        code=st.sampled_from(ENTRANCE_CODES) if ENTRANCE_CODES and not exposures else st.none(),
        person=st.one_of(st.none(), st.sampled_from(PEOPLE), st.sampled_from(PEOPLE)),
        since_days=st.one_of(st.none(), st.integers(0, 14)) if exposures else st.none(),
    )
    return st.one_of(st.just(body), seeded)


@schemathesis.hook
def flatmap_path_parameters(ctx: Any, path_parameters: Any) -> st.SearchStrategy:
    if not isinstance(path_parameters, dict):
        return st.just(path_parameters)
    choices = {
        name: st.sampled_from(PATH_IDS[name])
        for name in path_parameters
        if PATH_IDS.get(name) and isinstance(path_parameters[name], int)
    }
    if not choices:
        return st.just(path_parameters)
    real = st.fixed_dictionaries(choices).map(partial(_merged, path_parameters))
    return st.one_of(st.just(path_parameters), real)


def _merged(base: dict[str, Any], ids: dict[str, int]) -> dict[str, Any]:
    return {**base, **ids}


# --- checks of the issue "A NIK alone reveals nothing and changes nothing" ------------------------------------------


def _posted(response: Any, *paths: str) -> bool:
    """Whether the response is a 200 to a POST to one of the paths (OPTIONS answers 200 too, with no answer)."""
    request = response.request
    return response.status_code == 200 and request.method == "POST" and request.path_url.startswith(paths)


def _sent(response: Any) -> tuple[dict[str, Any], bool]:
    """The JSON object the request carried ({} for anything else) and whether it carried credentials."""
    request = response.request
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        body = {}
    return (body if isinstance(body, dict) else {}), "Authorization" in request.headers


@schemathesis.check
def nik_alone_checks_nobody_out(ctx: Any, response: Any, case: Any) -> None:
    """A check-out by NIK without the person's name never succeeds (a remembered phone's token is another matter)."""
    if not _posted(response, "/api/v1/checkouts/"):
        return
    body, _auth = _sent(response)
    nik, name = body.get("nik"), body.get("name")
    if not isinstance(nik, str) or not nik.strip():
        return
    if not isinstance(name, str) or not name.strip():
        raise AssertionError("a check-out with a NIK and no name answered 200")
    known = NAME_OF.get(nik)
    if known is not None and not names_match(name, known):
        raise AssertionError("a check-out with a NIK and another person's name answered 200")


@schemathesis.check
def anonymous_answers_name_no_health(ctx: Any, response: Any, case: Any) -> None:
    """Without credentials a check-in or check-out answer holds no colour, no scan id and only the public outcomes."""
    if not _posted(response, "/api/v1/checkins/", "/api/v1/checkouts/"):
        return
    _body, auth = _sent(response)
    if auth:
        return
    answer = json.loads(response.content)
    leaked = sorted({"colour", "scan"} & set(answer))
    if leaked:
        raise AssertionError(f"an anonymous answer holds {', '.join(leaked)}")
    if answer.get("outcome") not in PUBLIC_OUTCOMES:
        raise AssertionError(f"an anonymous answer has outcome {answer.get('outcome')!r}")
