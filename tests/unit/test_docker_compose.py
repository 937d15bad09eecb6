"""The deployment files, checked by parsing them (no Docker engine on this project's machines):
``docker-compose.yml``, ``.env.example``, ``Dockerfile`` and ``.dockerignore``.

Each check is a function that returns the problems it finds, so the same function runs on the
real file and, in ``test_checks_catch_realistic_mistakes``, on copies with a realistic mistake
(a typo in a ``depends_on`` target, a forgotten health check, a variable missing from
``.env.example``, a worker pointed at the wrong database ...), which it must report.
"""

from __future__ import annotations

import copy
import re
import shlex
import tomllib
from importlib import resources
from importlib.util import find_spec
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from govkpi import config

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

AIRFLOW_COMMANDS = {
    "airflow-apiserver": ["airflow", "api-server"],
    "airflow-scheduler": ["airflow", "scheduler"],
    "airflow-dag-processor": ["airflow", "dag-processor"],
    "airflow-triggerer": ["airflow", "triggerer"],
    "airflow-worker": ["airflow", "celery", "worker"],
}
AIRFLOW_SERVICES = {*AIRFLOW_COMMANDS, "airflow-init"}
ONE_SHOT = {"airflow-init", "warehouse-init", "metabase-init"}
LONG_RUNNING = {*AIRFLOW_COMMANDS, "airflow-db", "redis", "warehouse", "simulator", "metabase"}
CONDITIONS = {"service_healthy", "service_completed_successfully"}
# secrets: required (`${VAR:?...}`, never a default in the compose file) and empty in .env.example
SECRETS = {
    "AIRFLOW_FERNET_KEY", "AIRFLOW_JWT_SECRET", "AIRFLOW_API_SECRET_KEY", "AIRFLOW_DB_PASSWORD",
    "AIRFLOW_ADMIN_PASSWORD", "WAREHOUSE_DB_PASSWORD", "GOVKPI_PII_KEY", "METABASE_DB_PASSWORD",
    "METABASE_WAREHOUSE_PASSWORD", "METABASE_ADMIN_PASSWORD",
}
# the vendor systems' settings a worker needs (govkpi.config reads them)
SOURCE_SETTINGS = {
    "GOVKPI_ONESTOP_URL", "GOVKPI_ONESTOP_CLIENT_ID", "GOVKPI_ONESTOP_CLIENT_SECRET",
    "GOVKPI_EOFFICE_URL", "GOVKPI_EOFFICE_API_KEY",
    "GOVKPI_DVC_URL", "GOVKPI_DVC_USERNAME", "GOVKPI_DVC_PASSWORD",
}
# Compose reads these from .env itself; they are not interpolated into the file
COMPOSE_OWN_VARIABLES = {"COMPOSE_PROFILES", "COMPOSE_PROJECT_NAME", "COMPOSE_FILE"}
# options of config sections that Airflow core's config.yml does not define: the Celery
# provider's (apache-airflow-providers-celery 3.26, the `deploy` group) and Cosmos'
OTHER_AIRFLOW_OPTIONS = {
    "celery": {"broker_url", "result_backend", "worker_concurrency"},
    "cosmos": {"enable_telemetry"},
}
WAREHOUSE_CONN_ENV = "AIRFLOW_CONN_" + config.AIRFLOW_WAREHOUSE_CONN_ID.upper()

# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?message}, ${VAR?message}; $$ is a literal $
VARIABLE = re.compile(r"(?<!\$)((?:\$\$)*)\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
                      r"(?P<op>:?[-?+])?(?P<arg>[^}]*)\}")


# --- reading the files ----------------------------------------------------------------------------

def read_env_example(text: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        assert sep, f".env.example:{number}: not NAME=value: {line!r}"
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", name), f".env.example:{number}: {line!r}"
        assert name not in env, f".env.example:{number}: {name} is set twice"
        env[name] = value
    return env


def variables_used(text: str) -> dict[str, set[str]]:
    """Every variable the compose file interpolates, with the operators it is used with."""
    used: dict[str, set[str]] = {}
    for match in VARIABLE.finditer(text):
        used.setdefault(match["name"], set()).add(match["op"] or "")
    return used


def interpolate(text: str, env: dict[str, str]) -> str:
    """What `docker compose` does with ``env`` as .env; an empty required secret becomes a
    stand-in value (``<name>-value``) so connection strings can still be compared."""
    def value(match: re.Match) -> str:
        name, op, arg = match["name"], match["op"] or "", match["arg"]
        given = env.get(name)
        if op in (":-", "-") and (given is None or (op == ":-" and given == "")):
            given = arg
        if not given and op in (":?", "?"):
            given = f"{name.lower()}-value"
        return match.group(1).replace("$$", "$") + (given or "")

    return VARIABLE.sub(value, text)


def load(text: str) -> dict:
    return yaml.safe_load(text)


@pytest.fixture(scope="module")
def compose_text() -> str:
    return COMPOSE_FILE.read_text()


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    return read_env_example(ENV_EXAMPLE.read_text())


@pytest.fixture(scope="module")
def compose(compose_text) -> dict:
    """The file as written (variables not substituted)."""
    return load(compose_text)


@pytest.fixture(scope="module")
def resolved(compose_text, env_example) -> dict:
    """The file as `docker compose` sees it with .env.example as .env."""
    return load(interpolate(compose_text, env_example))


# --- helpers over a parsed file ------------------------------------------------------------

def services(doc: dict) -> dict[str, dict]:
    return doc.get("services") or {}


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # ["KEY=value", ...]
        env = dict(item.partition("=")[::2] for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def command(service: dict) -> list[str]:
    cmd = service.get("command") or []
    return shlex.split(cmd) if isinstance(cmd, str) else [str(c) for c in cmd]


def depends_on(service: dict) -> dict[str, dict]:
    deps = service.get("depends_on") or {}
    return {d: {} for d in deps} if isinstance(deps, list) else deps


def is_one_shot(service: dict) -> bool:
    return str(service.get("restart", "no")) == "no"


def healthcheck_test(service: dict) -> list[str] | str | None:
    check = service.get("healthcheck") or {}
    return None if check.get("disable") else check.get("test")


def pg_url(url: str) -> tuple[str, int, str, str, str]:
    """(host, port, user, password, database) of a postgres URL (any driver prefix)."""
    parts = urlsplit(url.removeprefix("db+"))
    return (parts.hostname or "", parts.port or 5432, parts.username or "",
            parts.password or "", parts.path.lstrip("/"))


def container_ports(service: dict) -> set[int]:
    out = set()
    for port in service.get("ports") or []:
        target = port.get("target") if isinstance(port, dict) else str(port).rsplit(":", 1)[-1]
        out.add(int(str(target).split("/")[0]))
    return out


# --- the checks: each returns its problems ------------------------------------------------------

def service_problems(doc: dict) -> list[str]:
    found = set(services(doc))
    problems = [f"service {s} is missing" for s in sorted((LONG_RUNNING | ONE_SHOT) - found)]
    problems += [f"{s}: restart policy says one-shot but it is not one of {sorted(ONE_SHOT)}"
                 for s, svc in services(doc).items() if is_one_shot(svc) and s not in ONE_SHOT]
    problems += [f"{s} is a one-shot step: restart must be 'no'"
                 for s in ONE_SHOT & found if not is_one_shot(services(doc)[s])]
    return problems


def healthcheck_problems(doc: dict) -> list[str]:
    problems = []
    for name, svc in services(doc).items():
        if is_one_shot(svc):
            continue
        test = healthcheck_test(svc)
        if not test or test in (["NONE"], "NONE"):
            problems.append(f"{name} runs for good but has no health check")
        elif isinstance(test, list) and test[0] not in ("CMD", "CMD-SHELL"):
            problems.append(f"{name}: health check test must start with CMD or CMD-SHELL")
    return problems


def command_problems(doc: dict) -> list[str]:
    problems = []
    for name, expected in AIRFLOW_COMMANDS.items():
        cmd = command(services(doc).get(name, {}))
        if cmd[: len(expected)] != expected:
            problems.append(f"{name} runs {cmd!r}, not {' '.join(expected)}")
    init = " ".join(command(services(doc).get("airflow-init", {})))
    for step in ("airflow db migrate", "python -m govkpi.deploy airflow-admin"):
        if step not in init:
            problems.append(f"airflow-init does not run `{step}`")
    return problems


def depends_on_problems(doc: dict) -> list[str]:
    svcs = services(doc)
    problems = []
    for name, svc in svcs.items():
        if isinstance(svc.get("depends_on"), list):
            problems.append(f"{name}: depends_on must give a condition for each service")
        for target, spec in depends_on(svc).items():
            condition = (spec or {}).get("condition")
            if target not in svcs:
                problems.append(f"{name} depends on {target}, which is not a service")
                continue
            if condition not in CONDITIONS:
                problems.append(f"{name} -> {target}: condition {condition!r} is not one of "
                                f"{sorted(CONDITIONS)}")
            if condition == "service_healthy" and not healthcheck_test(svcs[target]):
                problems.append(f"{name} waits for {target} to be healthy; it has no health check")
            if condition == "service_completed_successfully" and not is_one_shot(svcs[target]):
                problems.append(f"{name} waits for {target} to complete; it never does")
            if set(svcs[target].get("profiles") or []) - set(svc.get("profiles") or []):
                problems.append(f"{name} depends on {target}, which only runs in a profile")
    # no cycles
    done: set[str] = set()

    def visit(node: str, path: tuple[str, ...]) -> None:
        if node in path:
            problems.append("dependency cycle: " + " -> ".join((*path, node)))
            return
        if node in done or node not in svcs:
            return
        for target in depends_on(svcs[node]):
            visit(target, (*path, node))
        done.add(node)

    for name in svcs:
        visit(name, ())
    for name in AIRFLOW_COMMANDS:
        deps = depends_on(svcs.get(name, {}))
        for target, condition in (("airflow-init", "service_completed_successfully"),
                                  ("airflow-db", "service_healthy"), ("redis", "service_healthy")):
            if (deps.get(target) or {}).get("condition") != condition:
                problems.append(f"{name} must wait for {target} ({condition})")
    worker = depends_on(svcs.get("airflow-worker", {}))
    if (worker.get("warehouse-init") or {}).get("condition") != "service_completed_successfully":
        problems.append("airflow-worker must wait for warehouse-init to complete")
    return problems


def variable_problems(text: str, env: dict[str, str]) -> list[str]:
    used = variables_used(text)
    defined = set(env) - COMPOSE_OWN_VARIABLES
    problems = [f"${{{v}}} is used but not in .env.example" for v in sorted(set(used) - defined)]
    problems += [f"{v} is in .env.example but the compose file does not use it"
                 for v in sorted(defined - set(used))]
    for name in sorted(SECRETS):
        if name not in used:
            problems.append(f"secret {name} is not used")
        elif used[name] - {":?"}:
            problems.append(f"secret {name} must be required (${{{name}:?...}}), never defaulted")
        if env.get(name):
            problems.append(f".env.example must leave secret {name} empty, not {env[name]!r}")
    bare = re.sub(r"\$\$|" + VARIABLE.pattern, "", text)
    if "$" in bare:
        line = next(x for x in bare.splitlines() if "$" in x)
        problems.append(f"unbraced or unescaped $ (write ${{VAR}} or $$): {line.strip()!r}")
    return problems


def airflow_problems(doc: dict) -> list[str]:
    """Doc with variables substituted: every Airflow component runs the CeleryExecutor with
    the same secrets, the broker on redis, results and metadata in airflow-db, tasks talking to
    the api-server's execution API."""
    svcs = services(doc)
    problems = []
    meta = environment(svcs.get("airflow-db", {}))
    meta_db = ("airflow-db", 5432, meta.get("POSTGRES_USER"), meta.get("POSTGRES_PASSWORD"),
               meta.get("POSTGRES_DB"))
    shared = ("AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET",
              "AIRFLOW__API__SECRET_KEY", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
              "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC",
              "AIRFLOW__CORE__EXECUTION_API_SERVER_URL", "AIRFLOW__CELERY__BROKER_URL")
    first: dict[str, str] = {}
    for name in sorted(AIRFLOW_SERVICES):
        env = environment(svcs.get(name, {}))
        if env.get("AIRFLOW__CORE__EXECUTOR") != "CeleryExecutor":
            problems.append(f"{name}: executor is {env.get('AIRFLOW__CORE__EXECUTOR')!r}")
        broker = urlsplit(env.get("AIRFLOW__CELERY__BROKER_URL", ""))
        if broker.scheme != "redis" or broker.hostname != "redis" or broker.port not in (
                None, 6379):
            problems.append(f"{name}: broker {env.get('AIRFLOW__CELERY__BROKER_URL')!r} is not "
                            "the redis service")
        backend = env.get("AIRFLOW__CELERY__RESULT_BACKEND", "")
        if not backend.startswith("db+postgresql") or pg_url(backend) != meta_db:
            problems.append(f"{name}: result backend {backend!r} is not the airflow-db database")
        for key in ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
                    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"):
            sql = env.get(key, "")
            if not sql.startswith("postgresql") or pg_url(sql) != meta_db:
                problems.append(f"{name}: {key} {sql!r} is not airflow-db's database")
        api = urlsplit(env.get("AIRFLOW__CORE__EXECUTION_API_SERVER_URL", ""))
        if (api.hostname != "airflow-apiserver" or api.path.rstrip("/") != "/execution"
                or (api.port or 80) not in container_ports(svcs.get("airflow-apiserver", {}))):
            problems.append(f"{name}: execution API URL {api.geturl()!r} is not the api-server's")
        for key in shared:
            if not env.get(key):
                problems.append(f"{name}: {key} is not set")
            elif first.setdefault(key, env[key]) != env[key]:
                problems.append(f"{name}: {key} differs from the other Airflow components")
    if "redis" not in str(svcs.get("redis", {}).get("image", "")):
        problems.append("the redis service does not run a redis image")
    return problems


def warehouse_problems(doc: dict) -> list[str]:
    """Doc with variables substituted: every warehouse connection any service gets is the
    warehouse service's (host, database, user, password)."""
    svcs = services(doc)
    wh = environment(svcs.get("warehouse", {}))
    expected = ("warehouse", 5432, wh.get("POSTGRES_USER"), wh.get("POSTGRES_PASSWORD"),
                wh.get("POSTGRES_DB"))
    problems = []
    for name, svc in svcs.items():
        env = environment(svc)
        for key in (config.WAREHOUSE_URL_ENV, WAREHOUSE_CONN_ENV):
            got = pg_url(env.get(key, ""))
            if key in env and got != expected:  # (passwords left out of the message)
                problems.append(f"{name}: {key} points at {got[:3] + got[4:]}, not the "
                                f"warehouse service {expected[:3] + expected[4:]}")
    worker = environment(svcs.get("airflow-worker", {}))
    for key in (config.WAREHOUSE_URL_ENV, WAREHOUSE_CONN_ENV, config.PII_KEY_ENV,
                *sorted(SOURCE_SETTINGS)):
        if not worker.get(key):
            problems.append(f"airflow-worker: {key} is not set")
    init = environment(svcs.get("warehouse-init", {}))
    if config.WAREHOUSE_URL_ENV not in init:
        problems.append(f"warehouse-init: {config.WAREHOUSE_URL_ENV} is not set")
    return problems


def bi_problems(doc: dict) -> list[str]:
    """Doc with variables substituted: Metabase reads the warehouse service as the login
    warehouse-init made a member of bi_reader, and keeps its own data in airflow-db."""
    svcs = services(doc)
    wh = environment(svcs.get("warehouse", {}))
    init = environment(svcs.get("warehouse-init", {}))
    mb_init = environment(svcs.get("metabase-init", {}))
    mb = environment(svcs.get("metabase", {}))
    problems = []
    if mb_init.get("GOVKPI_BI_HOST") != "warehouse":
        problems.append(f"metabase-init: GOVKPI_BI_HOST {mb_init.get('GOVKPI_BI_HOST')!r} is "
                        "not the warehouse service")
    if mb_init.get("GOVKPI_BI_PORT", "5432") != "5432":
        problems.append("metabase-init: GOVKPI_BI_PORT is not the warehouse's port")
    if mb_init.get("GOVKPI_BI_DBNAME") != wh.get("POSTGRES_DB"):
        problems.append("metabase-init: GOVKPI_BI_DBNAME is not the warehouse's database")
    for key in ("GOVKPI_BI_LOGIN", "GOVKPI_BI_PASSWORD"):
        if not mb_init.get(key) or mb_init.get(key) != init.get(key):
            problems.append(f"metabase-init: {key} is not the login warehouse-init creates")
    if mb_init.get("GOVKPI_BI_LOGIN") == wh.get("POSTGRES_USER"):
        problems.append("Metabase must not read the warehouse as the pipeline's own role")
    metabase_url = urlsplit(mb_init.get("METABASE_URL", ""))
    if metabase_url.hostname != "metabase" or (metabase_url.port or 80) not in container_ports(
            svcs.get("metabase", {})):
        problems.append(f"metabase-init: METABASE_URL {metabase_url.geturl()!r} is not the "
                        "metabase service")
    app_db = svcs.get(mb.get("MB_DB_HOST", ""), {})
    if mb.get("MB_DB_TYPE") != "postgres" or "postgres" not in str(app_db.get("image", "")):
        problems.append("metabase: its application database is not a PostgreSQL service")
    elif mb.get("MB_DB_PASS") != environment(app_db).get("METABASE_DB_PASSWORD"):
        problems.append("metabase: MB_DB_PASS is not the password its database is created with")
    return problems


def volume_problems(doc: dict) -> list[str]:
    declared = set((doc.get("volumes") or {}).keys())
    used: set[str] = set()
    problems = []
    for name, svc in services(doc).items():
        for volume in svc.get("volumes") or []:
            if isinstance(volume, dict):
                kind, source = volume.get("type", "volume"), str(volume.get("source", ""))
            else:
                source = str(volume).split(":")[0]
                kind = "bind" if source.startswith((".", "/", "~")) else "volume"
            if kind == "bind":
                if not (ROOT / source).exists():
                    problems.append(f"{name}: bind mount {source} does not exist in the repo")
            elif source:
                used.add(source)
                if source not in declared:
                    problems.append(f"{name}: volume {source} is not declared under volumes:")
    problems += [f"volume {v} is declared but no service mounts it"
                 for v in sorted(declared - used)]
    return problems


CHECKS_ON_TEXT = {"variables": variable_problems}
CHECKS_ON_FILE = {
    "services": service_problems, "healthchecks": healthcheck_problems,
    "commands": command_problems, "depends_on": depends_on_problems, "volumes": volume_problems,
}
CHECKS_ON_RESOLVED = {"airflow": airflow_problems, "warehouse": warehouse_problems,
                      "bi": bi_problems}


# --- the real files -------------------------------------------------------------------------------

@pytest.mark.parametrize("check", sorted(CHECKS_ON_FILE))
def test_compose_file(compose, check):
    assert CHECKS_ON_FILE[check](compose) == []


@pytest.mark.parametrize("check", sorted(CHECKS_ON_RESOLVED))
def test_compose_file_resolved(resolved, check):
    assert CHECKS_ON_RESOLVED[check](resolved) == []


def test_variables_match_env_example(compose_text, env_example):
    assert variable_problems(compose_text, env_example) == []


def test_airflow_settings_exist(compose):
    """Every AIRFLOW__SECTION__OPTION is an option Airflow (or the provider) knows: a typo
    would be ignored silently."""
    known = yaml.safe_load(resources.files("airflow").joinpath(
        "config_templates/config.yml").read_text())
    for name, svc in services(compose).items():
        for key in environment(svc):
            if not key.startswith("AIRFLOW__"):
                continue
            section, option = (p.lower() for p in key.removeprefix("AIRFLOW__").split("__", 1))
            options = set((known.get(section) or {}).get("options", {}))
            options |= OTHER_AIRFLOW_OPTIONS.get(section, set())
            assert option in options, f"{name}: {key} is not an Airflow setting"


def test_database_drivers_are_installed(resolved):
    """Every SQLAlchemy URL names a driver the locked environment has (Airflow derives an
    asyncpg URL for the async engine unless told otherwise, and asyncpg is not locked)."""
    for name, svc in services(resolved).items():
        for key, value in environment(svc).items():
            scheme = urlsplit(value).scheme.removeprefix("db+") if "://" in value else ""
            if scheme.startswith("postgresql+"):
                driver = scheme.split("+", 1)[1]
                assert find_spec(driver), f"{name}: {key} uses {driver}, which is not installed"
            if key.startswith("AIRFLOW__DATABASE__") and scheme.startswith("postgresql"):
                assert "+" in scheme, f"{name}: {key} must name its driver"


def test_worker_settings_are_read_by_govkpi(compose):
    """Every GOVKPI_* variable a service gets is read somewhere in the package: a misspelt
    name would leave the code on its default."""
    source = "\n".join(p.read_text() for p in (ROOT / "include" / "govkpi").rglob("*.py"))
    for name, svc in services(compose).items():
        for key in environment(svc):
            if key.startswith("GOVKPI_"):
                assert f'"{key}"' in source, f"{name}: {key} is read nowhere in include/govkpi"


def test_one_shot_steps_exist(compose):
    from govkpi.deploy import STEPS

    for name in ("warehouse-init", "metabase-init"):
        cmd = command(services(compose)[name])
        assert cmd[:3] == ["python", "-m", "govkpi.deploy"], cmd
        assert cmd[3] in STEPS


def test_simulator_serves_what_env_example_points_at(compose, env_example):
    from govkpi.simulator import dvc, eoffice, onestop

    sim = services(compose)["simulator"]
    cmd = command(sim)
    assert cmd[:3] == ["govkpi", "simulate", "serve"]
    assert cmd[cmd.index("--host") + 1] == "0.0.0.0"
    port = int(cmd[cmd.index("--port") + 1])
    assert "simulator" in (sim.get("profiles") or [])
    assert "simulator" in env_example["COMPOSE_PROFILES"].split(",")
    assert env_example["GOVKPI_ONESTOP_URL"] == f"http://simulator:{port}"
    assert env_example["GOVKPI_EOFFICE_URL"] == f"http://simulator:{port + 1}"
    assert env_example["GOVKPI_DVC_URL"] == f"http://simulator:{port + 2}"
    # the simulator accepts only its well-known test credentials
    assert env_example["GOVKPI_ONESTOP_CLIENT_ID"] == onestop.DEFAULT_CLIENT_ID
    assert env_example["GOVKPI_ONESTOP_CLIENT_SECRET"] == onestop.DEFAULT_CLIENT_SECRET
    assert env_example["GOVKPI_EOFFICE_API_KEY"] == eoffice.DEFAULT_API_KEY
    assert env_example["GOVKPI_DVC_USERNAME"] == dvc.DEFAULT_USERNAME
    assert env_example["GOVKPI_DVC_PASSWORD"] == dvc.DEFAULT_PASSWORD


def test_images_are_pinned(compose):
    for name, svc in services(compose).items():
        image = str(svc.get("image", ""))
        if "build" in svc:
            assert (ROOT / svc["build"].get("context", ".") / svc["build"].get(
                "dockerfile", "Dockerfile")).is_file(), name
            continue
        assert ":" in image, f"{name}: pin {image!r} to a tag"
        assert not image.endswith(":latest"), f"{name}: pin {image!r} to a release"


def test_dockerfile_installs_from_the_lock_and_builds_the_manifest():
    text = DOCKERFILE.read_text()
    runs = " ".join(re.findall(r"^RUN (.+?)(?<!\\)$", text, re.M | re.S))
    assert "uv sync --frozen" in runs
    assert "uv pip install" not in runs, "install from uv.lock only"
    assert re.search(r"\bdbt parse\b", runs)
    groups = set(re.findall(r"--group (\S+)", runs))
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    declared = pyproject.get("dependency-groups", {})
    assert groups <= set(declared), groups
    assert any("apache-airflow-providers-celery" in dep for g in groups for dep in declared[g])
    assert 'name = "apache-airflow-providers-celery"' in (ROOT / "uv.lock").read_text()
    for source in re.findall(r"^COPY (?:--\S+ )*(.+) \S+$", text, re.M):
        for path in source.split():
            assert (ROOT / path).exists(), f"COPY {path}: no such file"
    ignored = DOCKERIGNORE.read_text().split()
    for path in (".venv", ".local", ".env", "dbt_project/target"):
        assert path in ignored, f".dockerignore must exclude {path}"


def test_env_file_is_git_ignored():
    assert ".env" in (ROOT / ".gitignore").read_text().split()


# --- the checks catch realistic mistakes ---------------------------------------------------

def _typo_in_depends_on(doc):
    deps = doc["services"]["airflow-scheduler"]["depends_on"]
    deps["airflow_init"] = deps.pop("airflow-init")


def _short_depends_on(doc):
    doc["services"]["metabase"]["depends_on"] = ["airflow-db"]


def _no_healthcheck(doc):
    del doc["services"]["airflow-triggerer"]["healthcheck"]


def _webserver(doc):
    doc["services"]["airflow-apiserver"]["command"] = ["airflow", "webserver"]


def _wait_on_unhealthy(doc):
    doc["services"]["airflow-worker"]["depends_on"]["warehouse-init"] = {
        "condition": "service_healthy"}


def _undeclared_volume(doc):
    doc["services"]["airflow-worker"]["volumes"].append("reports:/opt/govkpi/reports")


def _no_migration(doc):
    doc["services"]["airflow-init"]["command"] = ["airflow", "version"]


def _depends_on_simulator(doc):
    doc["services"]["airflow-worker"]["depends_on"]["simulator"] = {
        "condition": "service_healthy"}


FILE_MISTAKES = {
    "typo in a depends_on target": (_typo_in_depends_on, depends_on_problems),
    "depends_on without conditions": (_short_depends_on, depends_on_problems),
    "health check forgotten": (_no_healthcheck, healthcheck_problems),
    "Airflow 2's webserver": (_webserver, command_problems),
    "waiting for a one-shot to be healthy": (_wait_on_unhealthy, depends_on_problems),
    "volume not declared": (_undeclared_volume, volume_problems),
    "airflow-init does not migrate": (_no_migration, command_problems),
    "depending on a profiled service": (_depends_on_simulator, depends_on_problems),
}


def _local_executor(doc):
    doc["services"]["airflow-worker"]["environment"]["AIRFLOW__CORE__EXECUTOR"] = "LocalExecutor"


def _worker_on_the_metadata_db(doc):
    env = doc["services"]["airflow-worker"]["environment"]
    env[WAREHOUSE_CONN_ENV] = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]


def _wrong_warehouse_database(doc):
    env = doc["services"]["airflow-worker"]["environment"]
    env[config.WAREHOUSE_URL_ENV] = env[config.WAREHOUSE_URL_ENV].rsplit("/", 1)[0] + "/postgres"


def _broker_elsewhere(doc):
    doc["services"]["airflow-scheduler"]["environment"][
        "AIRFLOW__CELERY__BROKER_URL"] = "redis://localhost:6379/0"


def _other_jwt_secret(doc):
    doc["services"]["airflow-worker"]["environment"]["AIRFLOW__API_AUTH__JWT_SECRET"] = "other"


def _metabase_as_pipeline(doc):
    wh = doc["services"]["warehouse"]["environment"]
    for svc in ("warehouse-init", "metabase-init"):
        doc["services"][svc]["environment"]["GOVKPI_BI_LOGIN"] = wh["POSTGRES_USER"]


def _metabase_reads_metadata_db(doc):
    doc["services"]["metabase-init"]["environment"]["GOVKPI_BI_HOST"] = "airflow-db"


RESOLVED_MISTAKES = {
    "LocalExecutor on a worker": (_local_executor, airflow_problems),
    "Cosmos pointed at the metadata DB": (_worker_on_the_metadata_db, warehouse_problems),
    "wrong warehouse database": (_wrong_warehouse_database, warehouse_problems),
    "broker on localhost": (_broker_elsewhere, airflow_problems),
    "one component with another JWT secret": (_other_jwt_secret, airflow_problems),
    "Metabase as the pipeline's role": (_metabase_as_pipeline, bi_problems),
    "Metabase on the wrong server": (_metabase_reads_metadata_db, bi_problems),
}


@pytest.mark.parametrize("mistake", sorted(FILE_MISTAKES))
def test_checks_catch_realistic_mistakes(compose, mistake):
    mutate, check = FILE_MISTAKES[mistake]
    doc = copy.deepcopy(compose)
    mutate(doc)
    assert check(doc), f"{mistake}: not reported"


@pytest.mark.parametrize("mistake", sorted(RESOLVED_MISTAKES))
def test_checks_catch_realistic_mistakes_resolved(resolved, mistake):
    mutate, check = RESOLVED_MISTAKES[mistake]
    doc = copy.deepcopy(resolved)
    mutate(doc)
    assert check(doc), f"{mistake}: not reported"


@pytest.mark.parametrize(("edit", "expected"), [
    (lambda t, e: (t.replace("${GOVKPI_SIM_DOSSIERS:-10000}", "${GOVKPI_SIM_DOSSIER:-10000}"),
                   e), "GOVKPI_SIM_DOSSIER} is used but not in .env.example"),
    (lambda t, e: (t, {**e, "GOVKPI_OLD_SETTING": "x"}), "GOVKPI_OLD_SETTING is in .env.example"),
    (lambda t, e: (t.replace("${GOVKPI_PII_KEY:?set GOVKPI_PII_KEY in .env}",
                             "${GOVKPI_PII_KEY:-dev-key}"), e), "secret GOVKPI_PII_KEY must be"),
    (lambda t, e: (t, {**e, "AIRFLOW_JWT_SECRET": "not-so-secret"}), "must leave secret"),
    (lambda t, e: (t.replace("redis://redis:6379/0", "redis://$REDIS_HOST:6379/0"), e),
     "unbraced or unescaped $"),
])
def test_variable_check_catches_mistakes(compose_text, env_example, edit, expected):
    text, env = edit(compose_text, env_example)
    assert any(expected in p for p in variable_problems(text, env)), expected
