"""Scan-to-screen latency of the door console: N door screens follow the live feed over SSE while check-ins are
made through the API; each sample is the time from just before the check-in request to a screen receiving its
event. Run against a running server (production shape: `make serve`, nginx before gunicorn and uvicorn streams).

As a library (the load benchmark calls this):

    bench_door_latency(base_url, session_cookie, entrance_ids, api_checkin) -> dict

where `api_checkin(entrance_id)` makes one check-in at that entrance (a fresh person each time, or the double-tap
rule writes no event). Standalone:

    python -m bench.door_latency --base-url http://127.0.0.1:8000 --session <sessionid> \
        --entrance 3:<entrance code> --entrance 4:<entrance code> [--screens 20] [--samples 40]

or `--username/--password` instead of `--session` to log in through the admin login form.
"""

from __future__ import annotations

import argparse
import http.client
import http.cookiejar
import json
import statistics
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any

SCREENS = 20
SAMPLES = 40
DELIVERY_TIMEOUT = 5.0


class Screen(threading.Thread):
    """One door screen: an SSE connection that reconnects with Last-Event-ID, as the browser does."""

    def __init__(self, *, base_url: str, cookie: str, entrance_id: int):
        super().__init__(daemon=True)
        self.url = urllib.parse.urlsplit(base_url)
        self.cookie = cookie
        self.entrance_id = entrance_id
        self.last_id: int | None = None
        self.connected = threading.Event()
        self.stopped = threading.Event()
        self.arrivals: list[tuple[int, float]] = []  # (event id, perf_counter) of every scan received
        self.lock = threading.Lock()
        self.errors = 0
        self.reconnects = 0

    def _connection(self) -> http.client.HTTPConnection:
        cls = http.client.HTTPSConnection if self.url.scheme == "https" else http.client.HTTPConnection
        return cls(self.url.hostname, self.url.port, timeout=30)

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                self._follow()
            except OSError:
                self.errors += 1
                time.sleep(0.5)
            self.reconnects += 1

    def _follow(self) -> None:
        connection = self._connection()
        headers = {"Cookie": f"sessionid={self.cookie}", "Accept": "text/event-stream"}
        if self.last_id is not None:
            headers["Last-Event-ID"] = str(self.last_id)
        connection.request("GET", f"{self.url.path.rstrip('/')}/door/{self.entrance_id}/events", headers=headers)
        response = connection.getresponse()
        if response.status != 200:
            self.errors += 1
            connection.close()
            time.sleep(1)
            return
        self.connected.set()
        event_id = event = None
        try:
            while not self.stopped.is_set():
                raw = response.readline()
                if not raw:
                    return  # the server ended the stream (its lifetime): reconnect
                line = raw.decode().rstrip("\r\n")
                if not line:
                    if event == "scan" and event_id is not None:
                        with self.lock:
                            self.arrivals.append((event_id, time.perf_counter()))
                        self.last_id = event_id
                    event_id = event = None
                elif line.startswith("id: "):
                    event_id = int(line[4:])
                elif line.startswith("event: "):
                    event = line[7:]
        finally:
            connection.close()

    def arrivals_after(self, started: float) -> list[tuple[int, float]]:
        with self.lock:
            return [arrival for arrival in self.arrivals if arrival[1] >= started]


def _percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def bench_door_latency(
    base_url: str,
    session_cookie: str,
    entrance_ids: Sequence[int],
    api_checkin: Callable[[int], Any],
    *,
    screens: int = SCREENS,
    samples: int = SAMPLES,
    timeout: float = DELIVERY_TIMEOUT,
) -> dict:
    """Open `screens` SSE screens spread over the entrances, make `samples` check-ins one at a time (round robin),
    and time each delivery to each screen of that entrance. A delivery missing after `timeout` s is counted."""
    if not entrance_ids:
        raise ValueError("give at least one entrance id")
    opened = [
        Screen(base_url=base_url, cookie=session_cookie, entrance_id=entrance_ids[i % len(entrance_ids)])
        for i in range(screens)
    ]
    for screen in opened:
        screen.start()
    try:
        for screen in opened:
            if not screen.connected.wait(10):
                raise RuntimeError(f"screen for entrance {screen.entrance_id} did not connect (session, scope?)")
        time.sleep(0.5)  # every stream has sent its first state and is now waiting
        latencies: list[float] = []
        api_times: list[float] = []
        missed = errors = 0
        for sample in range(samples):
            entrance_id = entrance_ids[sample % len(entrance_ids)]
            watching = [screen for screen in opened if screen.entrance_id == entrance_id]
            started = time.perf_counter()
            try:
                api_checkin(entrance_id)
            except Exception:
                errors += 1
                continue
            api_times.append((time.perf_counter() - started) * 1000)
            deadline = started + timeout
            pending = set(range(len(watching)))
            while pending and time.perf_counter() < deadline:
                for index in list(pending):
                    arrivals = watching[index].arrivals_after(started)
                    if arrivals:
                        latencies.append((arrivals[0][1] - started) * 1000)
                        pending.discard(index)
                if pending:
                    time.sleep(0.002)
            missed += len(pending)
            time.sleep(0.05)
    finally:
        for screen in opened:
            screen.stopped.set()
    duplicates = 0
    for screen in opened:
        ids = [event_id for event_id, _at in screen.arrivals]
        duplicates += len(ids) - len(set(ids))
    return {
        "screens": screens,
        "entrances": len(entrance_ids),
        "samples": samples,
        "deliveries": len(latencies),
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p95_ms": round(_percentile(latencies, 0.95), 1) if latencies else None,
        "max_ms": round(max(latencies), 1) if latencies else None,
        "api_p50_ms": round(statistics.median(api_times), 1) if api_times else None,
        "missed": missed,
        "duplicates": duplicates,
        "errors": errors + sum(screen.errors for screen in opened),
    }


# --- standalone ---------------------------------------------------------------------------------------------------


def _nik(serial: int) -> str:
    """A valid Denpasar NIK (51 71 01, born 1 January 1990) with a serial of 1-9999."""
    return f"517101010190{serial % 9999 + 1:04d}"


def _login(base_url: str, username: str, password: str) -> str:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    login_url = f"{base_url}/admin/login/"
    opener.open(login_url, timeout=10).read()
    token = next(cookie.value for cookie in jar if cookie.name == "csrftoken")
    data = urllib.parse.urlencode(
        {"username": username, "password": password, "csrfmiddlewaretoken": token, "next": "/door/"}
    ).encode()
    opener.open(urllib.request.Request(login_url, data=data, headers={"Referer": login_url}), timeout=10).read()
    session = next((cookie.value for cookie in jar if cookie.name == "sessionid"), None)
    if session is None:
        raise SystemExit("login failed")
    return session


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--session", help="an officer's sessionid cookie")
    parser.add_argument("--username")
    parser.add_argument("--password")
    parser.add_argument("--entrance", action="append", required=True, help="ID:CODE of an entrance to watch")
    parser.add_argument("--screens", type=int, default=SCREENS)
    parser.add_argument("--samples", type=int, default=SAMPLES)
    parser.add_argument("--first-serial", type=int, default=int(time.time()) % 5000, help="NIK serials to start at")
    args = parser.parse_args(argv)
    base_url = args.base_url.rstrip("/")
    session = args.session or _login(base_url, args.username or "", args.password or "")
    codes = {int(part.split(":", 1)[0]): part.split(":", 1)[1] for part in args.entrance}
    serials = iter(range(args.first_serial, args.first_serial + 100_000))

    def api_checkin(entrance_id: int) -> dict:
        body = {"entrance": codes[entrance_id], "nik": _nik(next(serials)), "name": "Bench Pintu"}
        request = urllib.request.Request(
            f"{base_url}/api/v1/checkins/",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    result = bench_door_latency(base_url, session, list(codes), api_checkin, screens=args.screens, samples=args.samples)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
