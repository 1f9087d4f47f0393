"""The deployment files, checked as far as a machine without Docker or a
Kubernetes cluster allows: the compose file against the Compose Specification
schema, the manifests against the Kubernetes schemas, the systemd units with
systemd-analyze, and every command, setting and environment variable they use
against what the project really has."""

from __future__ import annotations

import argparse
import configparser
import copy
import importlib
import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from scrapy.settings import default_settings

from backlinkbot import defaults

# Test dependencies (the `test` extra); without them there is nothing to check with.
yaml = pytest.importorskip("yaml", reason="PyYAML is not installed")
jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is not installed")
kubernetes_validate = pytest.importorskip(
    "kubernetes_validate", reason="kubernetes-validate is not installed"
)
scrapyd_config = pytest.importorskip("scrapyd.config", reason="scrapyd is not installed")

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
COMPOSE_SCHEMA = Path(__file__).parent / "data" / "compose" / "compose-spec.json"
#: Kubernetes version the manifests are checked against.
KUBERNETES_VERSION = "1.30"
#: Variables read by Python, pip or Scrapy rather than by the project's code.
STANDARD_VARIABLES = {
    "PYTHONUNBUFFERED", "PIP_NO_CACHE_DIR", "PIP_DISABLE_PIP_VERSION_CHECK",
    "SCRAPY_SETTINGS_MODULE", "http_proxy", "https_proxy", "no_proxy",
}  # fmt: skip
IMAGE = "backlinkbot"
METRICS_PORT = 9410
WORKER_UID = 10001


def project_variables() -> set[str]:
    """Environment variables the project's code reads."""
    pattern = re.compile(
        r"""(?:environ\.get\(|environ\[|getenv\()\s*["']([A-Za-z_][A-Za-z0-9_]*)"""
    )
    names: set[str] = set()
    for package in ("backlinkbot", "pipelines"):
        for path in (ROOT / package).rglob("*.py"):
            names |= set(pattern.findall(path.read_text(encoding="utf-8")))
    return names


READ = project_variables() | STANDARD_VARIABLES
SETTINGS = set(dir(default_settings)) | set(defaults.__all__)


def check_command(argv: list[str]) -> None:
    """``backlinkbot <command> ...`` or ``scrapy crawl backlinks -s ...``, as the
    project would parse it."""
    program = Path(argv[0]).name
    if program == "backlinkbot":
        module = importlib.import_module(f"backlinkbot.commands.{argv[1]}")
        assert callable(module.run) and module.help
        parser = argparse.ArgumentParser(prog=f"backlinkbot {argv[1]}")
        module.add_arguments(parser)
        try:
            parser.parse_args(argv[2:])
        except SystemExit:
            pytest.fail(f"backlinkbot {argv[1]} does not accept {argv[2:]}")
    elif program == "scrapy":
        assert argv[1:3] == ["crawl", "backlinks"], argv
        options = argv[3:]
        assert len(options) % 2 == 0, argv
        for flag, setting in zip(options[::2], options[1::2], strict=True):
            assert flag == "-s", argv
            name, _, value = setting.partition("=")
            assert name in SETTINGS and value, setting
    else:
        pytest.fail(f"unexpected program {argv[0]!r}")


def test_the_checks_know_the_project() -> None:
    assert {"REDIS_URL", "MONGODB_URI", "MONGODB_DATABASE", "BACKLINKBOT_REDIS_PREFIX",
            "BACKLINKBOT_METRICS_PORT", "BACKLINKBOT_LOG_JSON"} <= READ  # fmt: skip
    assert "BACKLINKBOT_WORKER_ID" not in READ  # a setting, not a variable
    check_command(["backlinkbot", "recrawl", "--older-than", "7d", "--every", "6h"])
    with pytest.raises(pytest.fail.Exception):
        check_command(["backlinkbot", "recrawl", "--no-such-option"])
    with pytest.raises(AssertionError):
        check_command(["scrapy", "crawl", "backlinks", "-s", "BACKLINKBOT_NO_SUCH=1"])


# -- compose -----------------------------------------------------------------

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}")


def interpolate(node: Any) -> Any:
    """Compose's ``${NAME:-default}`` substitution, with every variable unset;
    a value that is a whole number afterwards becomes one, as in Compose."""
    if isinstance(node, dict):
        return {k: interpolate(v) for k, v in node.items()}
    if isinstance(node, list):
        return [interpolate(v) for v in node]
    if isinstance(node, str) and "${" in node:
        text = _VARIABLE.sub(lambda m: m.group(2) or "", node)
        return int(text) if text.isdigit() else text
    return node


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return interpolate(yaml.safe_load((DEPLOY / "compose.yaml").read_text()))


@pytest.fixture(scope="module")
def compose_validator() -> Any:
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    # It declares draft 2019-09 by a URL spelling jsonschema does not look up.
    assert "2019-09" in schema["$schema"]
    jsonschema.Draft201909Validator.check_schema(schema)
    return jsonschema.Draft201909Validator(schema)


def test_compose_file_matches_the_compose_specification(
    compose: dict[str, Any], compose_validator: Any
) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}"
              for e in compose_validator.iter_errors(compose)]  # fmt: skip
    assert not errors, errors
    # The schema does catch mistakes.
    broken = copy.deepcopy(compose)
    broken["services"]["worker"]["replica"] = 3
    assert not compose_validator.is_valid(broken)


def test_compose_runs_the_whole_cluster(compose: dict[str, Any]) -> None:
    services = compose["services"]
    redis_command = " ".join(services["redis"]["command"])
    assert "--appendonly yes" in redis_command
    assert any(v.endswith(":/data") for v in services["redis"]["volumes"])
    assert "--replSet rs0" in " ".join(services["mongo"]["command"])
    assert "rs.initiate(" in " ".join(services["mongo-init"]["command"])
    worker = services["worker"]
    assert worker["depends_on"]["mongo-init"]["condition"] == "service_completed_successfully"
    assert worker["depends_on"]["redis"]["condition"] == "service_healthy"
    assert worker["deploy"]["replicas"] >= 2
    assert worker["build"]["dockerfile"] == "deploy/Dockerfile"
    assert (DEPLOY / worker["build"]["context"] / worker["build"]["dockerfile"]).is_file()
    assert worker["stop_signal"] == "SIGTERM"
    assert "MONGODB_URI" in worker["environment"]
    assert "replicaSet=rs0" in worker["environment"]["MONGODB_URI"]
    assert services["recrawl"]["command"][:2] == ["backlinkbot", "recrawl"]


def test_compose_commands_and_variables_exist(compose: dict[str, Any]) -> None:
    ours = {n: s for n, s in compose["services"].items()
            if str(s.get("image", "")).startswith(IMAGE)}  # fmt: skip
    assert set(ours) == {"worker", "recrawl"}
    for name, service in ours.items():
        check_command(service["command"])
        unknown = set(service["environment"]) - READ
        assert not unknown, (name, unknown)


# -- Dockerfile ----------------------------------------------------------------


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", path.read_text())
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def test_dockerfile_builds_from_what_the_repository_has() -> None:
    instructions = dockerfile_instructions(DEPLOY / "Dockerfile")
    keywords = [k for k, _ in instructions]
    assert keywords[0] == "FROM" and instructions[0][1].startswith("python:3.11")
    known = {"FROM", "ENV", "WORKDIR", "COPY", "RUN", "USER", "EXPOSE", "STOPSIGNAL", "CMD"}
    assert set(keywords) <= known, set(keywords) - known
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    for keyword, rest in instructions:
        if keyword == "COPY":
            *sources, _dest = rest.split()
            for source in sources:
                assert (ROOT / source).exists(), source
                top = source.split("/")[0]
                assert f"!{top}" in ignore or f"!{top}/" in ignore, source
        elif keyword == "ENV":
            names = set(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=", rest))
            assert names and not names - READ, names - READ
        elif keyword == "CMD":
            check_command(json.loads(rest))
        elif keyword == "EXPOSE":
            assert rest == str(METRICS_PORT)
        elif keyword == "STOPSIGNAL":
            assert rest == "SIGTERM"
    assert ("USER", "backlinkbot") in instructions
    assert any(k == "RUN" and f"--uid {WORKER_UID}" in r for k, r in instructions)


# -- Kubernetes ------------------------------------------------------------------


def manifests() -> list[tuple[str, dict[str, Any]]]:
    kustomization = yaml.safe_load((DEPLOY / "kubernetes" / "kustomization.yaml").read_text())
    listed = kustomization["resources"]
    found = sorted(p.name for p in (DEPLOY / "kubernetes").glob("*.yaml"))
    assert sorted([*listed, "kustomization.yaml"]) == found
    return [
        (name, doc)
        for name in listed
        for doc in yaml.safe_load_all((DEPLOY / "kubernetes" / name).read_text())
    ]


def pod_spec(doc: dict[str, Any]) -> dict[str, Any] | None:
    if doc["kind"] == "Deployment":
        return doc["spec"]["template"]["spec"]  # type: ignore[no-any-return]
    if doc["kind"] == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]  # type: ignore[no-any-return]
    return None


def test_kubernetes_manifests_match_the_kubernetes_schemas() -> None:
    kinds = set()
    for _name, doc in manifests():
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        kinds.add(doc["kind"])
    assert {"Deployment", "CronJob", "ConfigMap", "Secret"} <= kinds
    # The validator does catch mistakes.
    deployment = next(doc for _, doc in manifests() if doc["kind"] == "Deployment")
    broken = copy.deepcopy(deployment)
    broken["spec"]["replica"] = 3
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_kubernetes_commands_config_and_secrets_exist() -> None:
    docs = manifests()
    configmap = next(doc for _, doc in docs if doc["kind"] == "ConfigMap")
    secret = next(doc for _, doc in docs if doc["kind"] == "Secret")
    assert not set(configmap["data"]) - READ, set(configmap["data"]) - READ
    for _, doc in docs:
        spec = pod_spec(doc)
        if spec is None:
            continue
        assert spec["securityContext"]["runAsUser"] == WORKER_UID
        for container in spec["containers"]:
            assert container["image"].startswith(IMAGE)
            command = container["command"]
            check_command([re.sub(r"\$\((\w+)\)", "x", part) for part in command])
            referenced = {m for part in command for m in re.findall(r"\$\((\w+)\)", part)}
            for env in container.get("env", []):
                assert env["name"] in READ or env["name"] in referenced, env["name"]
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["name"] == secret["metadata"]["name"]
                    assert ref["key"] in secret["stringData"]
            for source in container.get("envFrom", []):
                assert source["configMapRef"]["name"] == configmap["metadata"]["name"]
    cronjob = next(doc for _, doc in docs if doc["kind"] == "CronJob")
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    assert pod_spec(cronjob)["containers"][0]["command"][:2] == [  # type: ignore[index]
        "backlinkbot",
        "recrawl",
    ]


# -- cron and systemd --------------------------------------------------------------


def unit_values(path: Path) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    text = re.sub(r"\\\n\s*", " ", path.read_text())
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            values.setdefault(key.strip(), []).append(value.strip())
    return values


def test_cron_line_and_systemd_units_run_real_commands() -> None:
    env_example = unit_values(DEPLOY / "systemd" / "backlinkbot.env.example")
    assert not set(env_example) - READ, set(env_example) - READ
    cron = [line for line in (DEPLOY / "cron" / "backlinkbot.cron").read_text().splitlines()
            if line and not line.startswith("#") and not re.match(r"^\w+=", line)]  # fmt: skip
    assert len(cron) == 1
    fields = cron[0].split(None, 6)
    assert len(fields) == 7 and fields[5] == "backlinkbot", fields
    command = shlex.split(fields[6].split("exec ", 1)[1].split(">>", 1)[0])
    check_command(command)
    for unit in ("backlinkbot-recrawl.service", "backlinkbot-worker@.service"):
        values = unit_values(DEPLOY / "systemd" / unit)
        check_command(shlex.split(values["ExecStart"][0].replace("%H-%i", "host-1")))
        for assignment in values.get("Environment", []):
            assert assignment.split("=", 1)[0] in READ, assignment
    timer = unit_values(DEPLOY / "systemd" / "backlinkbot-recrawl.timer")
    assert timer["Unit"] == ["backlinkbot-recrawl.service"]
    assert timer["Persistent"] == ["true"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze absent")
def test_systemd_units_pass_systemd_analyze(tmp_path: Path) -> None:
    for unit in ("backlinkbot-recrawl.service", "backlinkbot-recrawl.timer"):
        shutil.copy(DEPLOY / "systemd" / unit, tmp_path / unit)
    shutil.copy(DEPLOY / "systemd" / "backlinkbot-worker@.service",
                tmp_path / "backlinkbot-worker@1.service")  # fmt: skip
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *sorted(str(p) for p in tmp_path.iterdir())],
        capture_output=True, text=True, timeout=60, env={"SYSTEMD_LOG_LEVEL": "warning"},
    )  # fmt: skip
    # The virtualenv in /opt/backlinkbot does not exist on this machine.
    problems = [line for line in (done.stdout + done.stderr).splitlines()
                if line.strip() and "/opt/backlinkbot/venv/bin/" not in line]  # fmt: skip
    assert not problems, problems


def test_scrapyd_config_uses_scrapyd_options() -> None:
    ours = configparser.ConfigParser()
    ours.read(DEPLOY / "scrapyd" / "scrapyd.conf")
    known = configparser.ConfigParser()
    known.read(Path(scrapyd_config.__file__).parent / "default_scrapyd.conf")
    assert set(ours["scrapyd"]) - set(known["scrapyd"]) == set()
    assert ours["scrapyd"]["password"]  # the HTTP API is protected
