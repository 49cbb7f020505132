"""CPU per request of the write path's scenarios, in process (no server, no network, no load generator):
the hello world, the questionnaire page, the result page a person sees (English and Spanish), and a
stored submission through the API and through the form, each on a fresh SQLite file.

    .venv/bin/python bench/page_cost.py [--requests 1000] [--root PATH]

Each figure is the lowest of five batches' process CPU time per request after a warm-up (the lowest is
the least disturbed by other work on a shared machine). --root measures another checkout of the app
(e.g. one `git archive` of an earlier commit) with this script, for a before/after comparison.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import tempfile
import time
from itertools import count
from pathlib import Path

PCL5 = [2, 1, 0, 3, 2, 1, 0, 2, 1, 1, 2, 3, 1, 0, 2, 1, 2, 2, 1, 3]
FORM = {"store": "no", **{f"q{number}": str(value) for number, value in enumerate(PCL5, 1)}}


def per_request(run, requests: int) -> float:
    """The lowest of five batches' milliseconds of process CPU per call, after a warm-up."""
    for _ in range(100):
        run()
    batches = []
    for _ in range(5):
        started = time.process_time()
        for _ in range(requests):
            run()
        batches.append((time.process_time() - started) / requests * 1000)
    return min(batches)


def checked(client, method: str, path: str, expected: int, **kwargs):
    def call():
        response = client.open(path, method=method, **kwargs)
        assert response.status_code == expected, (path, response.status_code)

    return call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--root", default=str(Path(__file__).resolve().parent.parent))
    args = parser.parse_args()
    root = Path(args.root).resolve()
    sys.path[:0] = [str(root), str(Path(__file__).resolve().parent)]
    os.environ.update(APP_ENV="production", SECRET_KEY=secrets.token_hex(32), FLASK_RATELIMIT_ENABLED="false")
    from hello import app as hello_app

    from app import create_app
    from app.extensions import db

    rows = [("ceiling: bare Flask hello world", per_request(checked(hello_app.test_client(), "GET", "/", 200),
                                                           args.requests))]
    with tempfile.TemporaryDirectory() as directory:
        app = create_app("production", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{directory}/cost.sqlite"})
        with app.app_context():
            db.create_all()
        client = app.test_client()
        rows.append(("GET /screen/pcl5 (cached page)", per_request(checked(client, "GET", "/screen/pcl5", 200),
                                                                   args.requests)))
        for language in ("en", "es"):
            rows.append((f"POST /screen/pcl5 (form, not stored: the result page), {language}",
                         per_request(checked(client, "POST", "/screen/pcl5", 200, data=FORM,
                                             headers={"Accept-Language": language}), args.requests)))
        body = json.dumps({"instrument": "pcl5", "answers": PCL5, "store": True})
        rows.append(("POST /api/v1/screenings (store=true)",
                     per_request(checked(client, "POST", "/api/v1/screenings", 201, data=body,
                                         content_type="application/json"), args.requests)))
        once = count()
        run = secrets.token_hex(6)

        def form_stored():
            data = {**FORM, "store": "yes", "submission": f"{run}-{next(once):012d}"}
            response = client.post("/screen/pcl5", data=data)
            assert response.status_code == 200 and b'class="code"' in response.data

        rows.append(("POST /screen/pcl5 (form, stored)", per_request(form_stored, args.requests)))
        with app.app_context():
            db.engine.dispose()
    ceiling = rows[0][1]
    print(f"{root}\n\n| in process | CPU ms per request | hello world ÷ this |\n|---|---:|---:|")
    for name, milliseconds in rows:
        print(f"| {name} | {milliseconds:.3f} | {ceiling / milliseconds:.2f} |")


if __name__ == "__main__":
    main()
