"""Serve the app from N processes behind HAProxy, for a class larger than one process can carry.

    python scripts/serve_replicas.py --replicas 2 --port 8501

Starts N `streamlit run streamlit_app.py` on loopback ports, writes an HAProxy configuration to a temporary
directory and runs HAProxy (Debian: `apt-get install haproxy`) in the foreground on `--address:--port`. Ctrl-C
(or SIGTERM) stops HAProxy and every replica and removes the directory.

Why sticky sessions: Streamlit keeps a visitor's session (its widgets, its training run) in the memory of the
process that served it, over one websocket. HAProxy passes websockets through in HTTP mode; the visitor's first
request (the page) is given a cookie naming its replica, and every later request (the websocket, a reconnect
after a network blip, a media file or a download) goes back to that replica. `balance source` would also be
sticky, but behind one NAT (a lecture hall's wifi) every student has the same address and would land on one
replica; the cookie spreads them. Every replica gets the same cookie secret, so that Streamlit's signed
cookies (XSRF) stay valid if HAProxy ever has to move a visitor (a replica that stopped answering its health
check). Each answer carries `X-Replica: rN`, the replica that served it, for load tests and for debugging.

Prints one line per replica (`replica r1: pid 1234, http://127.0.0.1:8601`) and then
`serving http://ADDRESS:PORT (haproxy pid N)` once everything answers.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CONFIG = """\
global
    maxconn 4096

defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-request 10s
    # An open websocket is a student's session: keep it while the lecture lasts, even when idle.
    timeout tunnel 4h

frontend lecture_hall
    bind {address}:{port}
    default_backend replicas

backend replicas
    balance roundrobin
    cookie STREAMLIT_REPLICA insert indirect nocache httponly
    option httpchk GET /_stcore/health
    http-check expect status 200
    http-response set-header X-Replica %[srv_name]
{servers}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def haproxy_config(address: str, port: int, replica_ports: list[int]) -> str:
    servers = "\n".join(f"    server r{i} 127.0.0.1:{p} check inter 2s cookie r{i}"
                        for i, p in enumerate(replica_ports, 1))
    return CONFIG.format(address=address, port=port, servers=servers)


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not answer within {timeout:.0f} s")
        time.sleep(0.2)


def stop(procs: list[subprocess.Popen]) -> None:
    """Stop the first (haproxy) before the others, so that it never sees its replicas go."""
    for group in (procs[:1], procs[1:]):
        for proc in group:
            if proc.poll() is None:
                proc.terminate()
        for proc in group:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", type=int, default=2, help="streamlit processes (default 2)")
    parser.add_argument("--port", type=int, default=8501, help="the port students open (default 8501)")
    parser.add_argument("--address", default="127.0.0.1", help="where HAProxy listens (0.0.0.0: every interface)")
    parser.add_argument("--haproxy", default=os.environ.get("HAPROXY", "haproxy"), help="the haproxy binary")
    parser.add_argument("streamlit_args", nargs="*", help="after --: more `streamlit run` options for every replica")
    args = parser.parse_args()
    if not 1 <= args.replicas <= 64:
        parser.error("between 1 and 64 replicas")
    haproxy = shutil.which(args.haproxy)
    if haproxy is None:
        parser.error("haproxy not found: install it (Debian/Ubuntu: sudo apt-get install haproxy) or pass --haproxy")

    procs: list[subprocess.Popen] = []
    balancer_started = False

    def on_signal(signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)  # also when started in the background, where SIGINT starts ignored
    secret = secrets.token_hex(32)  # one cookie secret for all replicas
    with tempfile.TemporaryDirectory(prefix="serve_replicas_") as tmp:
        try:
            ports = [free_port() for _ in range(args.replicas)]
            for i, port in enumerate(ports, 1):
                log = open(Path(tmp) / f"r{i}.log", "w")  # noqa: SIM115 - closed with the directory
                procs.append(subprocess.Popen(
                    [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.headless", "true",
                     "--server.address", "127.0.0.1", "--server.port", str(port),
                     "--browser.gatherUsageStats", "false", *args.streamlit_args],
                    cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                    env={**os.environ, "STREAMLIT_SERVER_COOKIE_SECRET": secret}))
            for i, (port, proc) in enumerate(zip(ports, procs, strict=True), 1):
                try:
                    wait_healthy(f"http://127.0.0.1:{port}", proc, 120, f"replica r{i}")
                except RuntimeError as err:
                    print(f"{err}; its log:\n{(Path(tmp) / f'r{i}.log').read_text()}", file=sys.stderr)
                    return 1
                print(f"replica r{i}: pid {proc.pid}, http://127.0.0.1:{port}", flush=True)
            config = Path(tmp) / "haproxy.cfg"
            config.write_text(haproxy_config(args.address, args.port, ports))
            check = subprocess.run([haproxy, "-c", "-q", "-f", str(config)], capture_output=True, text=True)
            if check.returncode != 0:
                print(f"haproxy refused the configuration:\n{check.stdout}{check.stderr}", file=sys.stderr)
                return 1
            balancer = subprocess.Popen([haproxy, "-db", "-f", str(config)])  # -db: foreground, logs to stderr
            procs.append(balancer)
            balancer_started = True
            host = "127.0.0.1" if args.address in ("0.0.0.0", "::") else args.address
            wait_healthy(f"http://{host}:{args.port}", balancer, 30, "haproxy")
            print(f"serving http://{host}:{args.port} (haproxy pid {balancer.pid}); Ctrl-C stops everything",
                  flush=True)
            while all(proc.poll() is None for proc in procs):
                time.sleep(0.5)
            dead = [i for i, proc in enumerate(procs) if proc.poll() is not None]
            print(f"stopping: {'haproxy' if len(procs) - 1 in dead else f'replica r{dead[0] + 1}'} exited",
                  file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            return 0
        except RuntimeError as err:
            print(err, file=sys.stderr)
            return 1
        finally:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not interrupt the clean-up
            stop(procs[-1:] + procs[:-1] if balancer_started else procs)


if __name__ == "__main__":
    sys.exit(main())
