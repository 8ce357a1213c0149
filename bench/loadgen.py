"""Load generators: wrk with the Lua scripts in bench/lua (closed loop, for peak throughput), and a small
open-loop generator in asyncio that sends at a fixed rate (for latency at a given load, which wrk cannot do).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

LUA_DIR = Path(__file__).resolve().parent / "lua"


def _lua_literal(value) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"[{_lua_literal(k)}] = {_lua_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "{" + ", ".join(_lua_literal(v) for v in value) + "}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value))  # a JSON string of ASCII text is a valid Lua string


def wrk_run(
    *,
    wrk: str,
    script: str,
    url: str,
    duration: float,
    connections: int,
    config: dict,
    workdir: Path,
    name: str,
) -> dict:
    """Run wrk with bench/lua/<script>.lua (one connection per thread) and return its JSON summary."""
    out = workdir / f"wrk-{name}.json"
    config_path = workdir / f"wrk-{name}.lua"
    out.unlink(missing_ok=True)
    config_path.write_text(
        "return " + _lua_literal({**config, "out": str(out), "seed": random.randrange(1, 2**31)}) + "\n"
    )
    env = {**os.environ, "BENCH_LUA_DIR": str(LUA_DIR), "BENCH_LUA_CONFIG": str(config_path)}
    command = [
        wrk, "-t", str(connections), "-c", str(connections), "-d", f"{duration:g}s", "--timeout", "10s",
        "-s", str(LUA_DIR / f"{script}.lua"), url,
    ]  # fmt: skip
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=duration + 60)
    if completed.returncode != 0 or not out.exists():
        raise RuntimeError(f"wrk failed ({completed.returncode}): {completed.stderr.strip() or completed.stdout}")
    result = json.loads(out.read_text())
    result["wrk_stdout"] = completed.stdout
    return result


# --- open loop --------------------------------------------------------------------------------------------------


class _HttpError(Exception):
    pass


async def _response_read(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """One HTTP/1.1 response: status, body, and whether the server will close the connection."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise _HttpError(f"bad status line {lines[0]!r}")
    status = int(parts[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            key, value = line.split(":", 1)
            headers[key.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            chunks.append(chunk[:-2])
        body = b"".join(chunks)
    else:
        body = b""
    return status, body, headers.get("connection", "").lower() == "close"


def _percentile(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(pct / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


async def _paced(
    *, host: str, port: int, rate: float, duration: float, request_make: Callable[[], bytes], connections: int
) -> dict:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()
    latencies: list[float] = []
    by_second: dict[int, list[float]] = {}
    statuses: Counter = Counter()
    errors: Counter = Counter()

    async def worker() -> None:
        reader = writer = None
        while True:
            item = await queue.get()
            if item is None:
                break
            intended, payload = item
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                writer.write(payload)
                await writer.drain()
                status, _body, closing = await asyncio.wait_for(_response_read(reader), timeout=10)
            except TimeoutError:
                errors["timeout"] += 1
                writer.close()
                reader = writer = None
                continue
            except (OSError, asyncio.IncompleteReadError, _HttpError) as error:
                errors[type(error).__name__] += 1
                if writer is not None:
                    writer.close()
                reader = writer = None
                continue
            # Measured from when the request was due, not when it was sent: queueing counts (no coordinated
            # omission).
            latencies.append(loop.time() - intended)
            by_second.setdefault(int(intended - started), []).append(latencies[-1])
            statuses[f"s{status // 100}xx"] += 1
            if closing:
                writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    started = loop.time()
    workers = [asyncio.create_task(worker()) for _ in range(connections)]
    total = int(rate * duration)
    for n in range(total):
        due = started + n / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((due, request_make()))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    elapsed = loop.time() - started
    ordered = sorted(latencies)
    return {
        "requests": len(latencies) + sum(errors.values()),
        "answered": len(latencies),
        "duration_s": elapsed,
        "target_rate": rate,
        "latency_ms": {p: round(_percentile(ordered, q) * 1000, 2) for p, q in (("p50", 50), ("p95", 95), ("p99", 99))}
        | {"max": round(ordered[-1] * 1000, 2) if ordered else None},
        "status": dict(statuses),
        "socket_errors": dict(errors),
        # Where the tail comes from: the slowest request due in each second of the run.
        "max_ms_by_second": [round(max(v) * 1000, 1) for _s, v in sorted(by_second.items())],
    }


def paced_run(
    *,
    host: str,
    port: int,
    rate: float,
    duration: float,
    request_make: Callable[[], bytes],
    connections: int = 64,
) -> dict:
    """Send `rate` requests a second for `duration` seconds, whatever the server's speed (open loop)."""
    started = time.perf_counter()
    result = asyncio.run(
        _paced(host=host, port=port, rate=rate, duration=duration, request_make=request_make, connections=connections)
    )
    result["wall_s"] = time.perf_counter() - started
    return result
