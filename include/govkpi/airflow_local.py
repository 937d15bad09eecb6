"""Airflow as real services on this machine, no Docker: ``api-server``, ``scheduler`` and
``dag-processor`` (and, when asked, ``triggerer``) as subprocesses with the LocalExecutor, the
repo's ``dags/`` and the warehouse connection from the environment (:mod:`govkpi.airflow_env`).

``make airflow`` (``govkpi airflow``) and the real-scheduler test (tests/e2e/
test_scheduler_rest.py) both start Airflow through this module. Airflow 3 needs every one of
these services (PITFALLS.md): DAGs reach the scheduler only through the dag-processor, and tasks
talk to the api-server's execution API, so ``[core] execution_api_server_url`` must name the port
the api-server listens on, and both sides must share the JWT secret that signs task tokens.

The REST API (``/api/v2``) wants a JWT from the simple auth manager (``POST /auth/token`` with a
user of ``[core] simple_auth_manager_users`` and its password in the passwords file):
:func:`admin_password` writes that file, :class:`AirflowApi` logs in and calls the API.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from govkpi.airflow_env import airflow_environment
from govkpi.errors import GovkpiError

CORE_COMPONENTS = ("api-server", "scheduler", "dag-processor")
ALL_COMPONENTS = (*CORE_COMPONENTS, "triggerer")
ADMIN_USER = "admin"  # Airflow's default [core] simple_auth_manager_users is admin:admin
PASSWORDS_FILE = "simple_auth_manager_passwords.json.generated"  # Airflow's default name
TERMINAL_STATES = frozenset({"success", "failed"})
# Started once the api-server answers: a scheduler that finds queued tasks (left by an earlier
# start) runs them at once, and a task that cannot reach the execution API fails.
AFTER_API = ("scheduler", "triggerer")
# health report key of each component (GET /api/v2/monitor/health)
HEALTH_KEYS = {"scheduler": "scheduler", "dag-processor": "dag_processor",
               "triggerer": "triggerer"}


class AirflowServiceError(GovkpiError):
    """An Airflow service did not start, died, or its API refused a request."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def services_environment(home: Path, *, metadata=None, host: str = "127.0.0.1",
                         port: int = 8080, parallelism: int = 4) -> dict[str, str]:
    """The Airflow settings every service gets (on top of :func:`airflow_environment`).

    ``metadata`` is the :class:`~govkpi.warehouse.Warehouse` of a PostgreSQL database for
    Airflow's metadata (default: the SQLite file of ``home``). The log servers
    of the scheduler and triggerer get free ports so that several local Airflows (a test beside
    ``make airflow``) do not collide on 8793/8794.
    """
    env = airflow_environment(home)
    base_url = f"http://{host}:{port}"
    env.update({
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": str(parallelism),
        "AIRFLOW__API__HOST": host,
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API__BASE_URL": base_url,
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base_url}/execution/",
        # signs the tokens the scheduler hands to tasks and the api-server checks: one value
        # for every service of this start (a new start simply asks for a new login)
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(64),  # HS512 wants ≥ 64 bytes
        "AIRFLOW__CORE__AUTH_MANAGER":
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / PASSWORDS_FILE),
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port(host)),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port(host)),
        # service logs go to files: INFO says what the scheduler did with each task
        "AIRFLOW__LOGGING__LOGGING_LEVEL": os.environ.get("AIRFLOW__LOGGING__LOGGING_LEVEL",
                                                          "INFO"),
    })
    if metadata is not None:
        # psycopg2 for the sync engine (Airflow's usual driver); the async engine would default
        # to asyncpg, which is not installed: psycopg 3 runs async under SQLAlchemy as it is
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = (
            "postgresql+psycopg2://" + metadata.url.removeprefix("postgresql://"))
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"] = metadata.sqlalchemy_url
    return env


def admin_password(home: Path) -> str:
    """The password of the ``admin`` user: read from the simple auth manager's passwords file
    in ``home``, or generated and written there (mode 600) the first time."""
    path = home / PASSWORDS_FILE
    if path.exists():
        with contextlib.suppress(ValueError):
            password = json.loads(path.read_text() or "{}").get(ADMIN_USER)
            if password:
                return password
    password = secrets.token_urlsafe(12)
    home.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({ADMIN_USER: password}) + "\n")
    path.chmod(0o600)
    return password


def migrate_metadata(env: Mapping[str, str], *, timeout: float = 600) -> None:
    """``airflow db migrate`` with ``env`` (fast when the metadata DB is already current), then
    the source-system pools the extract tasks need (``python -m govkpi.deploy airflow-pools``)."""
    for step in (["airflow", "db", "migrate"], ["govkpi.deploy", "airflow-pools"]):
        done = subprocess.run([sys.executable, "-m", *step], env=dict(env), capture_output=True,
                              text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).splitlines()[-30:])
            raise AirflowServiceError(f"{' '.join(step)} failed (exit {done.returncode}):\n{tail}")


def _tail(path: Path, lines: int) -> list[str]:
    try:
        return path.read_text(errors="replace").splitlines()[-lines:]
    except FileNotFoundError:
        return ["(no log)"]


@dataclass
class AirflowServices:
    """Airflow's services as subprocesses, each in a process group of its own (so Ctrl-C in a
    terminal reaches only the parent, which then stops them in order) with its output in
    ``<log_dir>/<component>.log``."""

    env: dict[str, str]
    components: tuple[str, ...] = CORE_COMPONENTS
    log_dir: Path | None = None
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.home = Path(self.env["AIRFLOW_HOME"])
        self.log_dir = Path(self.log_dir or self.home / "services")
        self.host = self.env.get("AIRFLOW__API__HOST", "127.0.0.1")
        self.port = int(self.env.get("AIRFLOW__API__PORT", "8080"))
        unknown = set(self.components) - set(ALL_COMPONENTS)
        if unknown or "api-server" not in self.components:
            raise ValueError(f"components must include api-server and be among "
                             f"{', '.join(ALL_COMPONENTS)}; got {', '.join(self.components)}")

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def log_path(self, component: str) -> Path:
        return self.log_dir / f"{component}.log"

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> AirflowServices:
        if port_in_use(self.host, self.port):
            raise AirflowServiceError(f"port {self.port} on {self.host} is in use: stop what "
                                      "listens there or choose another port")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for component in self.components:
            command = [sys.executable, "-m", "airflow", component]
            if component in AFTER_API:
                command = [sys.executable, "-m", __name__, "--after-api",
                           f"{self.base_url}/api/v2/monitor/health", "--", *command]
            with open(self.log_path(component), "ab") as log:
                self.processes[component] = subprocess.Popen(
                    command, env=self.env, stdin=subprocess.DEVNULL, stdout=log,
                    stderr=subprocess.STDOUT, cwd=self.home, start_new_session=True)
        return self

    def dead(self) -> dict[str, int]:
        """Services that have exited: component → exit code."""
        return {c: p.returncode for c, p in self.processes.items() if p.poll() is not None}

    def check_alive(self) -> None:
        dead = self.dead()
        if dead:
            raise AirflowServiceError(
                "Airflow service(s) exited: "
                + ", ".join(f"{c} (exit {code})" for c, code in dead.items())
                + "\n" + self.log_tails(components=dead))

    def health(self) -> dict[str, Any] | None:
        """``GET /api/v2/monitor/health`` (no login needed), or None while nothing answers."""
        import httpx

        try:
            response = httpx.get(f"{self.base_url}/api/v2/monitor/health", timeout=5)
        except httpx.HTTPError:
            return None
        return response.json() if response.status_code == 200 else None

    def wait_healthy(self, timeout: float = 300) -> dict[str, Any]:
        """Wait until the api-server answers and every other started service has reported a
        heartbeat; raise with the services' log tails when one dies or time runs out."""
        deadline = time.monotonic() + timeout
        wanted = [HEALTH_KEYS[c] for c in self.components if c in HEALTH_KEYS]
        report: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            self.check_alive()
            report = self.health()
            if report and all((report.get(k) or {}).get("status") == "healthy"
                              for k in ["metadatabase", *wanted]):
                return report
            time.sleep(2)
        raise AirflowServiceError(f"Airflow not healthy after {timeout:.0f}s (last health "
                                  f"report: {report})\n{self.log_tails()}")

    def stop(self, timeout: float = 45) -> None:
        """Stop in two steps: SIGTERM the scheduler and triggerer (the scheduler lets running
        tasks finish) while the api-server still takes their final reports, then the
        dag-processor and the api-server. Each step waits up to ``timeout`` seconds; what is
        left then is SIGKILLed, descendants that left their process group included (task
        processes do). Ctrl-C while waiting skips the wait."""
        import psutil

        family: list[psutil.Process] = []
        for proc in self.processes.values():
            with contextlib.suppress(psutil.Error):
                family.extend(psutil.Process(proc.pid).children(recursive=True))
        try:
            self._terminate(("scheduler", "triggerer"), timeout)
            self._terminate(("dag-processor", "api-server"), timeout)
        except KeyboardInterrupt:
            pass  # no more waiting: what is left is killed below
        finally:
            for proc in self.processes.values():
                if proc.poll() is None:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        proc.wait(timeout=10)
            for child in family:
                with contextlib.suppress(psutil.Error):
                    if child.is_running() and child.status() != psutil.STATUS_ZOMBIE:
                        child.kill()
            self.processes.clear()

    def _terminate(self, components: tuple[str, ...], timeout: float) -> None:
        procs = [p for c, p in self.processes.items() if c in components and p.poll() is None]
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))

    def __enter__(self) -> AirflowServices:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- diagnosis ------------------------------------------------------------------------
    def log_tails(self, lines: int = 40, components: Iterable[str] | None = None) -> str:
        out = []
        for component in components or self.components:
            out.append(f"--- last {lines} lines of {self.log_path(component)}")
            out.extend(_tail(self.log_path(component), lines))
        return "\n".join(out)

    def task_log_tails(self, dag_id: str, run_id: str, task_ids: Iterable[str],
                       lines: int = 40) -> str:
        """The last lines of the newest attempt's log of each task (files under
        ``$AIRFLOW_HOME/logs``, as the LocalExecutor writes them)."""
        out = []
        for task_id in task_ids:
            found = sorted((self.home / "logs").glob(
                f"dag_id={dag_id}/run_id={run_id}/task_id={task_id}/**/attempt=*.log"))
            if not found:
                out.append(f"--- {task_id}: no log file")
                continue
            out.append(f"--- last {lines} lines of {found[-1]}")
            out.extend(_tail(found[-1], lines))
        return "\n".join(out)


class AirflowApi:
    """A logged-in client of Airflow's REST API v2 (plain HTTP: apache-airflow-client is not
    among the project's dependencies)."""

    def __init__(self, base_url: str, username: str, password: str, timeout: float = 30):
        import httpx

        self.base_url = base_url.rstrip("/")
        response = httpx.post(f"{self.base_url}/auth/token", timeout=timeout,
                              json={"username": username, "password": password})
        if response.status_code != 201:
            raise AirflowServiceError(f"login as {username} at {self.base_url}/auth/token "
                                      f"refused: {response.status_code} {response.text[:200]}")
        token = response.json()["access_token"]
        self.http = httpx.Client(base_url=f"{self.base_url}/api/v2", timeout=timeout,
                                 headers={"Authorization": f"Bearer {token}"})

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> AirflowApi:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def request(self, method: str, path: str, **kwargs) -> Any:
        response = self.http.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise AirflowServiceError(f"{method} /api/v2{path}: {response.status_code} "
                                      f"{response.text[:500]}")
        return response.json() if response.content else None

    def wait_for_dag(self, dag_id: str, timeout: float = 180,
                     services: AirflowServices | None = None) -> dict[str, Any]:
        """Wait until the dag-processor has serialized ``dag_id`` (its import errors, if
        any, in the error)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if services is not None:
                services.check_alive()
            response = self.http.get(f"/dags/{dag_id}")
            if response.status_code == 200:
                return response.json()
            time.sleep(2)
        errors = self.http.get("/importErrors").text[:2000]
        raise AirflowServiceError(f"DAG {dag_id} not parsed after {timeout:.0f}s; import "
                                  f"errors: {errors}")

    def set_paused(self, dag_id: str, paused: bool) -> dict[str, Any]:
        return self.request("PATCH", f"/dags/{dag_id}", json={"is_paused": paused})

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None, *,
                logical_date: dt.datetime | None = None,
                run_id: str | None = None) -> dict[str, Any]:
        """``POST /dags/{dag_id}/dagRuns``: a manual run with ``conf`` (the DAG's params)."""
        moment = logical_date or dt.datetime.now(dt.UTC)
        body: dict[str, Any] = {"logical_date": moment.isoformat(), "conf": conf or {}}
        if run_id:
            body["dag_run_id"] = run_id
        return self.request("POST", f"/dags/{dag_id}/dagRuns", json=body)

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return self.request("GET", f"/dags/{dag_id}/dagRuns/{run_id}")

    def task_instances(self, dag_id: str, run_id: str) -> dict[str, dict[str, Any]]:
        """task id (with ``[map index]`` for mapped tasks) → its task instance."""
        found = self.request("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances",
                             params={"limit": 1000})["task_instances"]
        return {t["task_id"] + (f"[{t['map_index']}]" if t.get("map_index", -1) >= 0 else ""):
                t for t in found}

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        """task id → state."""
        return {t: ti["state"] for t, ti in self.task_instances(dag_id, run_id).items()}

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float,
                     services: AirflowServices | None = None,
                     poll: float = 5) -> dict[str, Any]:
        """Poll the run until it is ``success`` or ``failed``; return it (also when it timed
        out: then its state is not terminal)."""
        deadline = time.monotonic() + timeout
        while True:
            run = self.dag_run(dag_id, run_id)
            if run["state"] in TERMINAL_STATES or time.monotonic() > deadline:
                return run
            if services is not None:
                services.check_alive()
            time.sleep(poll)


# --- `govkpi airflow` (`make airflow`) --------------------------------------------------------

AIRFLOW_DESCRIPTION = """\
Start Airflow on this machine, without Docker: api-server (the UI and the REST API), scheduler
(LocalExecutor), dag-processor and triggerer, each a process of its own, with the repo's dags/,
the warehouse connection (govkpi_warehouse) and a metadata DB in .local/airflow/airflow.db
(SQLite, shared with `make demo`). Prints the URL and the login, then waits: Ctrl-C stops
every service (a second Ctrl-C stops them at once).

The warehouse is resolved as for every command: GOVKPI_WAREHOUSE_URL, else the server on
127.0.0.1:5432, else the embedded one in .local/pgdata (database govkpi unless --database). The
ingest DAGs need the source systems: when GOVKPI_ONESTOP_URL is not set, a simulated province is
served (as in `make demo`) and its addresses and credentials are given to the tasks.
GOVKPI_PII_KEY defaults to the demo key. DAGs start paused: unpause one in the UI, or trigger it
(▶) with its params."""

AIRFLOW_EPILOG = """\
examples:
  govkpi airflow                          # http://127.0.0.1:8080, warehouse database govkpi
  govkpi airflow --database govkpi_demo   # look at what `make demo` left behind
  govkpi airflow --port 8090 --no-simulate
  make airflow AIRFLOW_ARGS='--port 8090'

logs: .local/airflow/services/<service>.log; task logs under .local/airflow/logs/"""


def add_parser(sub):
    """Add ``airflow`` to the ``govkpi`` sub-commands."""
    import argparse

    p = sub.add_parser("airflow", help="start the Airflow UI and services locally (Ctrl-C stops)",
                       description=AIRFLOW_DESCRIPTION, epilog=AIRFLOW_EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1",
                   help="address the api-server listens on (default 127.0.0.1: this machine "
                        "only)")
    p.add_argument("--port", type=int, default=8080, help="port of the UI and API (8080)")
    p.add_argument("--database", default=None, metavar="NAME",
                   help="warehouse database (default: GOVKPI_WAREHOUSE_URL's, else govkpi)")
    p.add_argument("--simulate", action=argparse.BooleanOptionalAction, default=None,
                   help="serve a simulated province for the ingest DAGs (default: when "
                        "GOVKPI_ONESTOP_URL is not set)")
    p.add_argument("--seed", type=int, default=2017, help="simulator seed (2017)")
    p.add_argument("--dossiers", type=int, default=10_000,
                   help="dossiers of the simulated province (10000)")
    p.add_argument("--triggerer", action=argparse.BooleanOptionalAction, default=True,
                   help="also run the triggerer (deferred tasks; default on)")
    p.add_argument("--parallelism", type=int, default=4,
                   help="task processes at once (default 4; this is a 2-core machine)")
    p.set_defaults(func=cmd_airflow)
    return p


def _say(msg: str) -> None:
    print(f"==> {msg}", flush=True)


def cmd_airflow(args) -> int:
    from govkpi import config
    from govkpi.airflow_env import prepare_airflow
    from govkpi.warehouse import export_environment, resolve_warehouse

    if not config.DBT_MANIFEST.exists():
        print(f"error: {config.DBT_MANIFEST} is missing (the dbt DAGs render from it): run "
              "`make manifest` first", file=sys.stderr)
        return 2
    if port_in_use("127.0.0.1" if args.host in ("0.0.0.0", "") else args.host, args.port):
        print(f"error: port {args.port} is in use (another Airflow?): stop it or pass "
              "--port N", file=sys.stderr)
        return 2
    wh = resolve_warehouse(args.database)
    export_environment(wh)
    _say(f"warehouse: {wh.origin} PostgreSQL at {wh.where}, database {wh.dbname}")
    if not os.environ.get(config.PII_KEY_ENV):
        from govkpi.cli import DEMO_PII_KEY

        os.environ[config.PII_KEY_ENV] = DEMO_PII_KEY
        _say(f"{config.PII_KEY_ENV} not set: the tasks use the demo key (set your own secret "
             "for real data)")
    home = config.LOCAL_DIR / "airflow"
    _say(f"Airflow metadata: {home / 'airflow.db'} (migrated if needed)")
    prepare_airflow(home)
    with contextlib.ExitStack() as stack:
        simulate = args.simulate if args.simulate is not None else not os.environ.get(
            "GOVKPI_ONESTOP_URL")
        if simulate:
            from govkpi.simulator import SimulatedProvince

            _say(f"simulating the province for the ingest DAGs: seed {args.seed}, "
                 f"{args.dossiers} dossiers")
            province = stack.enter_context(SimulatedProvince(seed=args.seed,
                                                             dossiers=args.dossiers))
            os.environ.update(province.environment())
            _say(f"one-stop at {province.onestop.url}, e-office at {province.eoffice.url}, "
                 f"public-service portal at {province.dvc.url}")
        elif not os.environ.get("GOVKPI_ONESTOP_URL"):
            _say("no source systems (GOVKPI_ONESTOP_URL unset, --no-simulate): the ingest "
                 "DAGs will fail; the others work on what the warehouse holds")
        url_host = "127.0.0.1" if args.host in ("0.0.0.0", "") else args.host
        env = {**os.environ, **services_environment(home, host=url_host, port=args.port,
                                                    parallelism=args.parallelism)}
        env["AIRFLOW__API__HOST"] = args.host
        password = admin_password(home)
        components = ALL_COMPONENTS if args.triggerer else CORE_COMPONENTS
        services = AirflowServices(env, components=components)
        _say(f"starting {', '.join(components)} (logs: {services.log_dir}/<service>.log)")
        return _serve(services, password, stack)


def _serve(services: AirflowServices, password: str, stack: contextlib.ExitStack) -> int:
    """Start, wait for health, print the banner, then wait for Ctrl-C (or SIGTERM) or a
    service's death; always stop the services."""
    def on_sigterm(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    stack.callback(signal.signal, signal.SIGTERM, previous)
    code = 0
    try:
        services.start()
        started = time.monotonic()
        services.wait_healthy(timeout=300)
        print(f"\n    Airflow is up ({time.monotonic() - started:.0f}s): {services.base_url}\n"
              f"    login: {ADMIN_USER} / {password}   (kept in "
              f"{services.home / PASSWORDS_FILE})\n"
              f"    DAGs from {services.env['AIRFLOW__CORE__DAGS_FOLDER']}, paused until you "
              "unpause or trigger them\n"
              "    Ctrl-C stops everything\n", flush=True)
        while True:
            services.check_alive()
            time.sleep(1)
    except KeyboardInterrupt:
        _say("stopping the Airflow services (Ctrl-C again: at once)")
    except AirflowServiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = 1
    finally:
        services.stop()
    _say("stopped")
    return code


def _exec_after_api(health_url: str, command: list[str]) -> None:
    """Wait until ``health_url`` answers, then become ``command`` (same pid, same process
    group: :meth:`AirflowServices.stop` still reaches it). No timeout: the parent decides."""
    import urllib.request

    while True:
        try:
            with urllib.request.urlopen(health_url, timeout=5) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        time.sleep(0.5)
    os.execv(command[0], command)


if __name__ == "__main__":  # python -m govkpi.airflow_local --after-api URL -- COMMAND...
    if len(sys.argv) < 5 or sys.argv[1] != "--after-api" or sys.argv[3] != "--":
        sys.exit("usage: python -m govkpi.airflow_local --after-api URL -- COMMAND...")
    _exec_after_api(sys.argv[2], sys.argv[4:])
