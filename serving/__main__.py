"""`python -m serving [--port 8000]`: what `make serve` runs. Migrates, then serves the production topology on
127.0.0.1:PORT (nginx, gunicorn WSGI, uvicorn streams, Celery worker and beat) until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time

from .topology import Topology


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m serving", description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 8000))
    parser.add_argument("--host", default="127.0.0.1", help="the address nginx listens on (127.0.0.1)")
    parser.add_argument("--no-celery", action="store_true", help="without the Celery worker and beat")
    parser.add_argument("--no-migrate", action="store_true", help="skip `manage.py migrate` before starting")
    args = parser.parse_args(argv)

    # Ctrl-C even when started in the background of a script (which ignores SIGINT); SIGTERM (docker stop, a
    # supervisor) ends the topology the same way.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    topology = Topology(
        port=args.port, host=args.host, celery=not args.no_celery, migrate=not args.no_migrate, output=sys.stdout
    )
    try:
        topology.start()
        names = ", ".join(f"{name} (pid {process.pid})" for name, process in topology.processes.items())
        print(f"\nDenpasar Check-in is serving on {topology.url}/  ({names}); Ctrl-C stops it.\n", flush=True)
        while True:
            for name, process in topology.processes.items():
                if process.poll() is not None:
                    print(f"{name} exited with {process.returncode}; stopping everything.", file=sys.stderr)
                    return 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        return 0
    finally:
        # A second Ctrl-C (or the SIGTERM after it) must not cut the shutdown short: stop() ends in SIGKILL anyway.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        topology.stop()
        print("stopped.", flush=True)


if __name__ == "__main__":
    sys.exit(main())
