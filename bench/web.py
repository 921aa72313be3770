"""Pages per second: the app on waitress next to Flask's hello-world on waitress with the same
thread count, both driven by the same load generator in one run (wrk when installed, else a
bounded Python client). Prints req/s and p50/p99 for the anonymous home, a logged-in course page
(20 documents, 50 results) and the review deck JSON, each as a share of hello's req/s.

The course is made through the real services: pasted documents go through ingest on the worker
and the results come from the study tools on the offline provider, so the pages show what a
student would see.

Both servers run with the same waitress threads and the same interpreter switch interval
(`studybuddy.web.serve.SWITCH_INTERVAL`, which `studybuddy web` sets).

Usage: python bench/web.py [--duration S] [--rounds N] [--connections C] [--threads T]
"""

from __future__ import annotations

import argparse
import http.client
import http.cookiejar
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DOCUMENTS = 20
RESULTS = 50
EMAIL, PASSWORD = "bench@example.org", "bench password long enough"
# Like a browser, the client logs in and loads pages with one User-Agent: the login's session
# protection ties the session to it, and a cookie sent with another one is rewritten each time.
USER_AGENT = "studybuddy-bench/1"

# The aims, printed next to each figure.
AIMS = {"home": (0.40, None), "course": (0.30, 60.0), "deck": (None, None)}


def _config(state_dir: str) -> Any:
    from studybuddy.config import load_config

    return load_config(env={}).replace(
        app={"state_dir": state_dir}, web={"secret_key": "bench-secret"},
        broker={"url": "memory://", "queue_prefix": "bench."})


TERMS = [
    ("Chlorophyll", "a green pigment that absorbs red and blue light in the chloroplast"),
    ("Mitochondria", "the organelles where cellular respiration releases the energy of glucose"),
    ("Ribosome", "a small structure that builds proteins from the code carried by messenger RNA"),
    ("Osmosis", "the movement of water across a membrane towards the side with more dissolved salt"),
    ("Enzyme", "a protein that speeds up a chemical reaction without being used up"),
    ("Stomata", "small pores on the leaf surface that let carbon dioxide in and oxygen out"),
    ("Xylem", "the tissue that carries water and minerals from the roots to the leaves"),
    ("Phloem", "the tissue that carries sugars from the leaves to the rest of the plant"),
]


def _text(i: int) -> str:
    """A lecture: a heading, definitions of terms, and paragraphs that use them."""
    lines = [f"# Lecture {i + 1}: cells and energy"]
    for j in range(12):
        term, meaning = TERMS[(i + j) % len(TERMS)]
        lines.append(f"{term} is {meaning}. In lecture {i + 1} we saw how {term.lower()} changes when the cell "
                     f"needs more energy, and why photosynthesis and respiration depend on each other.")
    return "\n".join(lines)


def seed(state_dir: str) -> None:
    """alice's course: 20 ready documents and 50 results made by the real tools."""
    from studybuddy.accounts import create_user
    from studybuddy.courses import create_course
    from studybuddy.ingest.upload import accept_text
    from studybuddy.jobs import submit_job
    from studybuddy.services import Services
    from studybuddy.worker.consumer import Worker

    services = Services(_config(state_dir))
    worker = Worker(services, run_reaper=False)
    worker.start()
    worker.wait_ready(30)
    user = create_user(services.store, EMAIL, PASSWORD, "Bench Student", language="he")
    course = create_course(services.store, user.id, "ביולוגיה 101 — Biology")
    docs = [accept_text(services, course, f"הרצאה {i + 1} - lecture{i + 1}.txt", _text(i)) for i in range(DOCUMENTS)]
    _wait(services, [d.job_id for d in docs])
    tools = [("summary", {"language": "he"}), ("flashcards", {"count": "10", "language": "he"}),
             ("quiz", {"count": "5", "kind": "mc", "language": "he"}), ("glossary", {"count": "20", "language": "he"}),
             ("summary", {"language": "en", "length": "short"})]
    from studybuddy.study.tools import clean_params

    jobs = []
    for n in range(RESULTS):
        tool, raw = tools[n % len(tools)]
        raw = {**raw, "document_id": docs[n % DOCUMENTS].id}
        params = clean_params(tool, raw, services.config)
        jobs.append(submit_job(services, tool, user.id, course_id=course.id, params=params).id)
    _wait(services, jobs)
    worker.stop(30)
    services.close()


def _wait(services: Any, job_ids: list[str], timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    for job_id in job_ids:
        while True:
            job = services.store.jobs.get(job_id)
            if job is not None and job.finished:
                if job.state != "succeeded":
                    raise SystemExit(f"seeding failed: job {job.type} {job.state}: {job.error_internal}")
                break
            if time.monotonic() > deadline:
                raise SystemExit("seeding timed out")
            time.sleep(0.05)


# --- servers (each in its own process, so the load generator never shares their GIL) --------------
def serve_app(state_dir: str, port: int, threads: int) -> None:
    """The app as `studybuddy web` serves it: our waitress server (per-route body limits, our error
    pages) at our switch interval."""
    import logging

    from studybuddy.services import Services
    from studybuddy.web import create_app
    from studybuddy.web.serve import body_limit_for, create_our_server, request_body_limit, share_the_gil_often

    logging.disable(logging.WARNING)
    cfg = _config(state_dir)
    app = create_app(cfg, Services(cfg))
    share_the_gil_often()
    create_our_server(app, "127.0.0.1", port, threads, request_body_limit(cfg), body_limit_for(app, cfg)).run()


def serve_hello(port: int, threads: int) -> None:
    """Flask's hello-world on plain waitress, with the same threads and the same switch interval."""
    import logging

    from flask import Flask
    from waitress import serve

    from studybuddy.web.serve import share_the_gil_often

    logging.disable(logging.WARNING)
    share_the_gil_often()
    app = Flask("hello")

    @app.route("/")
    def hello() -> str:
        return "Hello, World!"

    serve(app, host="127.0.0.1", port=port, threads=threads, _quiet=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(args: list[str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, __file__, *args], cwd=str(ROOT))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"server {args[0]} did not start")


def login(base: str) -> str:
    """Log in through the real form; returns the Cookie header a browser would send."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", USER_AGENT)]
    page = opener.open(f"{base}/login").read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    form = {"email": EMAIL, "password": PASSWORD, "csrf_token": token.group(1) if token else ""}
    opener.open(f"{base}/login", data=urllib.parse.urlencode(form).encode()).read()
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    if "session" not in cookie:
        raise SystemExit("could not log in")
    return cookie


def course_url(base: str, cookie: str) -> str:
    req = urllib.request.Request(f"{base}/api/v1/courses", headers={"Cookie": cookie, "Accept": "application/json",
                                                                     "User-Agent": USER_AGENT})
    courses = json.loads(urllib.request.urlopen(req).read())
    return f"{base}/courses/{courses[0]['id']}"


def check(url: str, cookie: str, needle: str) -> None:
    req = urllib.request.Request(url, headers=_headers(cookie))
    with urllib.request.urlopen(req) as r:
        body = r.read().decode()
        if r.status != 200 or needle not in body:
            raise SystemExit(f"{url} did not answer as expected ({r.status})")
        if cookie and r.headers.get("Set-Cookie"):
            raise SystemExit(f"{url} rewrote the session cookie: every request would pay for it")


def _headers(cookie: str) -> dict[str, str]:
    return {"User-Agent": USER_AGENT, **({"Cookie": cookie} if cookie else {})}


# --- load generators -------------------------------------------------------------------------------
def run_wrk(url: str, cookie: str, duration: float, connections: int) -> tuple[float, float, float]:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{max(1, round(duration))}s", "--latency", "--timeout", "10s"]
    for name, value in _headers(cookie).items():
        cmd += ["-H", f"{name}: {value}"]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out or "Socket errors" in out and "timeout 0" not in out:
        bad = [line.strip() for line in out.splitlines() if "Non-2xx" in line or "Socket errors" in line]
        raise SystemExit(f"{url}: {bad}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return rps, _wrk_ms(out, "50%"), _wrk_ms(out, "99%")


def _wrk_ms(out: str, label: str) -> float:
    value, unit = re.search(rf"\s{re.escape(label)}\s+([\d.]+)(us|ms|s)\b", out).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_python(url: str, cookie: str, duration: float, connections: int) -> tuple[float, float, float]:
    """A bounded keep-alive client: `connections` threads, each one connection, until the time is up."""
    parts = urllib.parse.urlsplit(url)
    path = parts.path or "/"
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors: list[str] = []
    stop_at = time.monotonic() + duration

    def one(slot: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        headers = _headers(cookie)
        for _ in range(100_000):  # bounded, whatever the timer says
            if time.monotonic() >= stop_at:
                break
            t0 = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            latencies[slot].append(time.perf_counter() - t0)
            if response.status != 200:
                errors.append(str(response.status))
                break
        conn.close()

    started = time.monotonic()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"{url}: status {errors[0]}")
    every = sorted(x for slot in latencies for x in slot)
    elapsed = time.monotonic() - started
    return len(every) / elapsed, _pct(every, 0.50) * 1000, _pct(every, 0.99) * 1000


def _pct(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; medians are printed")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=8, help="waitress threads, the same for both apps")
    parser.add_argument("--python-client", action="store_true", help="use the Python client even if wrk exists")
    parser.add_argument("--serve-app", nargs=2, metavar=("STATE_DIR", "PORT"), help=argparse.SUPPRESS)
    parser.add_argument("--serve-hello", metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_app:
        serve_app(args.serve_app[0], int(args.serve_app[1]), args.threads)
        return
    if args.serve_hello:
        serve_hello(int(args.serve_hello), args.threads)
        return

    use_wrk = bool(shutil.which("wrk")) and not args.python_client
    drive = run_wrk if use_wrk else run_python
    state = tempfile.mkdtemp(prefix="bench-web-")
    procs: list[subprocess.Popen[bytes]] = []
    try:
        seed(state)
        app_port, hello_port = _free_port(), _free_port()
        procs.append(_start(["--serve-app", state, str(app_port), "--threads", str(args.threads)], app_port))
        procs.append(_start(["--serve-hello", str(hello_port), "--threads", str(args.threads)], hello_port))
        base = f"http://127.0.0.1:{app_port}"
        cookie = login(base)
        course = course_url(base, cookie)
        check(base + "/", "", "<html")
        check(course, cookie, "data-document-id")
        check(base + "/review/deck.json", cookie, '"cards"')
        targets = [("hello", f"http://127.0.0.1:{hello_port}/", ""), ("home", base + "/", ""),
                   ("course", course, cookie), ("deck", base + "/review/deck.json", cookie)]
        for _, url, ck in targets:  # warm-up
            drive(url, ck, 1.0, args.connections)
        results: dict[str, list[tuple[float, float, float]]] = {name: [] for name, _, _ in targets}
        for _ in range(args.rounds):
            for name, url, ck in targets:
                results[name].append(drive(url, ck, args.duration, args.connections))
    finally:
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(state, ignore_errors=True)

    def med(name: str, i: int) -> float:
        return statistics.median(r[i] for r in results[name])

    hello = med("hello", 0)
    tool = "wrk" if use_wrk else "python client"
    print(f"load: {tool}, {args.connections} connections, {args.duration:.0f} s x {args.rounds} rounds "
          f"(medians), waitress {args.threads} threads for both apps")
    labels = {"hello": "flask hello-world", "home": "anonymous home", "course": "course page (20 docs, 50 results)",
              "deck": "review deck JSON"}
    for name, _, _ in targets:
        rps, p50, p99 = med(name, 0), med(name, 1), med(name, 2)
        line = f"{labels[name]:<36} {rps:8.0f} req/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms"
        if name != "hello":
            ratio = rps / hello
            line += f"  = {ratio:.0%} of hello"
            share, p99_aim = AIMS[name]
            aims = []
            if share is not None:
                aims.append(f">= {share:.0%} of hello")
            if p99_aim is not None:
                aims.append(f"p99 <= {p99_aim:.0f} ms")
            if aims:
                met = (share is None or ratio >= share) and (p99_aim is None or p99 <= p99_aim)
                line += f"   aim: {' and '.join(aims)} -> {'met' if met else 'NOT met'}"
        print(line)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
