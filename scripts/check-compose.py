#!/usr/bin/env python3
"""Checks that the compose files, deploy/ and .env.example agree with the code.

The compose-spec schema check (check-jsonschema) says each file is well formed; this says the
stacks they make are right for Valentine: every setting passed is one the binary reads, every
subcommand run exists, and the ports, hosts, volumes, images, credentials, TLS files, nodes
and proxy addresses line up across the compose files, the Dockerfile, the nats-server
configurations, nginx.conf, prometheus.yml and the code. A stack is a compose file with the
overrides it is run with, merged as `docker compose -f ... -f ...` merges them. Exits 1 with
one line per problem.
"""

import ipaddress
import posixpath
import re
import sys
from pathlib import Path
from urllib.parse import urlparse

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
problems: list[str] = []

# The stacks: the first file's folder is the project directory its relative paths start from.
STACKS = [
    ["docker-compose.yml"],
    ["docker-compose.yml", "deploy/tls/compose.yml"],
    ["docker-compose.yml", "deploy/nats-cluster/compose.yml"],
    ["docker-compose.yml", "deploy/nats-cluster/compose.yml", "deploy/nats-cluster/tls.yml"],
    ["deploy/multi-node/compose.yml"],
    ["deploy/multi-node/compose.yml", "deploy/multi-node/tls.yml"],
]
# What deploy/tls/make-certs.sh writes into deploy/tls/certs/, which the TLS overrides mount.
CERTS_DIR = "deploy/tls/certs"


def problem(text: str) -> None:
    problems.append(text)


def read(path: str) -> str:
    return (ROOT / path).read_text(encoding="utf-8")


def load(path: str) -> dict:
    return YAML(typ="safe").load(read(path)) or {}


# --- what the code defines ------------------------------------------------------------------
# Settings: every upper-case string literal in the binary's settings module is a variable
# name (crates/cli/src/settings.rs); RUST_LOG is read by the log filter.
settings_src = read("crates/cli/src/settings.rs")
code_settings = set(re.findall(r'"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)"', settings_src)) | {"RUST_LOG"}

# Subcommands: the variants of `enum Command` in the binary, as clap names them (kebab case).
cli_src = read("crates/cli/src/lib.rs")
enum = re.search(r"enum Command \{(.*?)\n\}", cli_src, re.S)
variants = re.findall(r"^    ([A-Z][A-Za-z]*)\b", enum.group(1), re.M) if enum else []
subcommands = {re.sub(r"(?<!^)([A-Z])", r"-\1", v).lower() for v in variants}
if not subcommands:
    problem("crates/cli/src/lib.rs: no subcommands found in `enum Command`")

example_settings = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", read(".env.example"), re.M))

# Redis's default user: what the tests run it with (crates/testkit/src/redis.rs).
redis_rules = re.search(r'DEFAULT_USER_RULES: &str = "([^"]+)"', read("crates/testkit/src/redis.rs"))
redis_rules = redis_rules.group(1) if redis_rules else None
if not redis_rules:
    problem("crates/testkit/src/redis.rs: no DEFAULT_USER_RULES")

# The files deploy/tls/make-certs.sh makes.
make_certs = read("deploy/tls/make-certs.sh")
cert_files = set(re.findall(r"certs/([\w-]+\.pem)", make_certs)) | {
    f"{name}.pem" for name in re.findall(r"^issue (\w+) ", make_certs, re.M)
} | {f"{name}-key.pem" for name in re.findall(r"^issue (\w+) ", make_certs, re.M)}


# --- compose: merging, and reading services -------------------------------------------------
def merge(base, override):
    """`override` over `base`, as compose merges files: mappings key by key, volumes by their
    target, environment by name, other lists and values replaced."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for key, value in override.items():
            if key == "volumes" and isinstance(value, list) and isinstance(out.get(key), list):
                targets = {volume_target(v): v for v in out[key]}
                targets.update({volume_target(v): v for v in value})
                out[key] = list(targets.values())
            elif key == "environment":
                out[key] = {**env_of({"environment": out.get(key)}), **env_of({"environment": value})}
            else:
                out[key] = merge(out.get(key), value)
        return out
    return override


def volume_target(volume) -> str:
    return volume.split(":")[1] if isinstance(volume, str) else str(volume.get("target"))


def env_of(service: dict) -> dict:
    env = service.get("environment", {}) or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def port_of(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


def healthcheck_url(where: str, service: dict) -> str:
    test = service.get("healthcheck", {}).get("test", [])
    urls = [t for t in test if isinstance(t, str) and t.startswith("http")]
    if not urls:
        problem(f"{where}: no health check URL")
        return ""
    return urls[0]


def secret_reference(value: str) -> bool:
    """Whether a compose value is a required variable, `${NAME:?why}`, not a literal."""
    return re.fullmatch(r"\$\{[A-Z][A-Z0-9_]*:\?[^}]+\}", value) is not None


def names_of(name: str, service: dict) -> set[str]:
    """The names a service answers to on the default network: its own and its aliases."""
    networks = service.get("networks") or {}
    default = networks.get("default") if isinstance(networks, dict) else None
    return {name} | set((default or {}).get("aliases") or [])


class Stack:
    """A compose file and its overrides, merged."""

    def __init__(self, files: list[str]):
        self.files = files
        self.where = " + ".join(files)
        self.project = (ROOT / files[0]).parent
        self.compose: dict = {}
        for file in files:
            self.compose = merge(self.compose, load(file))
        self.services: dict = self.compose.get("services", {}) or {}

    def mounts(self, service: dict) -> dict[str, str]:
        """A service's bind mounts and volumes: container path -> host path (from the
        repository root) or volume name."""
        out = {}
        for volume in service.get("volumes", []) or []:
            if not isinstance(volume, str):
                continue
            source, target = volume.split(":")[:2]
            if source.startswith("."):
                host = (self.project / source).resolve()
                source = str(host.relative_to(ROOT)) if host.is_relative_to(ROOT) else str(host)
            out[target] = source
        return out

    def host_file(self, service: dict, path: str) -> str | None:
        """The repository path of the file a service sees at `path`, if a bind mount holds it."""
        for target, source in sorted(self.mounts(service).items(), key=lambda m: -len(m[0])):
            if path == target:
                return source
            if path.startswith(target.rstrip("/") + "/"):
                return f"{source}/{path[len(target.rstrip('/')) + 1:]}"
        return None

    def role(self, service: dict) -> str | None:
        image = str(service.get("image", ""))
        if image.startswith("nats:"):
            return "nats"
        if image.startswith("redis:"):
            return "redis"
        if image.startswith("prom/prometheus:"):
            return "prometheus"
        target = (service.get("build") or {}).get("target")
        if target == "web":
            return "web"
        if target == "valentine" or image.startswith("valentine:"):
            command = service.get("command") or []
            return str(command[0]) if command else "valentine"
        return None

    def of_role(self, role: str) -> dict[str, dict]:
        return {n: s for n, s in self.services.items() if self.role(s) == role}


# --- NATS configurations ---------------------------------------------------------------------
def expand_conf(path: str, seen: tuple = ()) -> str:
    """A nats-server configuration with its includes inlined and comments removed."""
    if path in seen:
        problem(f"{path}: includes itself")
        return ""
    text = re.sub(r"#.*", "", read(path))

    def inline(match: re.Match) -> str:
        included = str((ROOT / path).parent.joinpath(match.group(2).strip('"')).resolve().relative_to(ROOT))
        return match.group(1) + expand_conf(included, (*seen, path))

    return re.sub(r"^(\s*)include\s+(\S+)\s*$", inline, text, flags=re.M)


def conf_value(text: str, key: str) -> list[str]:
    """The values of `key: value` lines in a nats-server configuration, quotes removed."""
    return [v.strip().strip('"') for v in re.findall(rf"^\s*{key}\s*[:=]\s*(.+?)\s*$", text, re.M)]


def conf_block(text: str, name: str) -> str:
    """The body of the last block `name { ... }` at the top level of `text` (a later block
    replaces an earlier one in nats-server), braces balanced."""
    body = ""
    for match in re.finditer(rf"(?:^|\s){name}\s*\{{", text):
        if text[:match.start()].count("{") != text[:match.start()].count("}"):
            continue
        depth, i = 1, match.end()
        while depth and i < len(text):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        body = text[match.end():i - 1]
    return body


def without_blocks(text: str) -> str:
    """`text` with every `{ ... }` block's body removed: its top-level keys only."""
    out, depth = [], 0
    for char in text:
        if char == "}":
            depth -= 1
        if depth == 0:
            out.append(char)
        if char == "{":
            depth += 1
    return "".join(out)


def has_block(text: str, name: str) -> bool:
    return re.search(rf"(^|\s){name}\s*\{{", text) is not None


users_conf = read("nats/users.conf")
nats_users = dict(re.findall(r"user:\s*(\w+)\s*\n\s*password:\s*(\S+)", users_conf))
if not nats_users:
    problem("nats/users.conf: no users")
for user, password in nats_users.items():
    if not password.startswith("$"):
        problem(f"nats/users.conf: the password of {user} is written in the file, not taken from the environment")


# --- one stack --------------------------------------------------------------------------------
def check_stack(stack: Stack) -> None:
    where, services = stack.where, stack.services
    for name, service in services.items():
        if "healthcheck" not in service:
            problem(f"{where}: {name}: no health check")
        for dep, condition in (service.get("depends_on") or {}).items():
            if dep not in services:
                problem(f"{where}: {name}: depends on unknown service {dep}")
            if not isinstance(condition, dict) or "condition" not in condition:
                problem(f"{where}: {name}: depends_on {dep} without a condition")
        if stack.role(service) is None:
            problem(f"{where}: {name}: not a service this check knows (nats, redis, api, projector, notifier, web, prometheus)")
        for port in service.get("ports", []) or []:
            if stack.role(service) in ("nats", "redis", "projector"):
                problem(f"{where}: {name}: publishes port {port} on the host; the operator commands run in the network")
            elif not str(port).startswith("127.0.0.1:"):
                problem(f"{where}: {name}: port {port} is published beyond loopback")
    missing = [role for role in ["nats", "redis", "api", "projector", "web"] if not stack.of_role(role)]
    for role in missing:
        problem(f"{where}: no {role} service")
    if missing:
        return
    nats_names = check_nats(stack)
    check_redis(stack)
    nodes = check_apps(stack, nats_names)
    check_web(stack)
    check_prometheus(stack, nodes)


def check_nats(stack: Stack) -> dict[str, int]:
    """The NATS servers: their configuration, its variables, users, routes and TLS. Returns
    the names clients may reach them by, with their client port."""
    where, nats = stack.where, stack.of_role("nats")
    reachable: dict[str, int] = {}
    server_names: dict[str, str] = {}
    for name, service in nats.items():
        here = f"{where}: {name}"
        match = re.match(r"nats:(\d+)\.(\d+)", str(service.get("image", "")))
        if not match or (int(match.group(1)), int(match.group(2))) < (2, 12):
            problem(f"{here}: image {service.get('image')} is older than nats-server 2.12, whose atomic batches the event store uses")
        args = [str(a) for a in service.get("command", [])]
        if any(a == "--cluster" or a.startswith("--cluster=") for a in args):
            problem(f"{here}: sets the cluster on its command line, which drops the routes' authorization")
        conf_file, conf = nats_conf(stack, service)
        if not conf_file:
            problem(f"{here}: its configuration (-c) is not a file of the repository mounted into it")
            continue
        env = env_of(service)
        if not re.search(r"^\s*authorization\s*\{[^}]*users", conf, re.M):
            problem(f"{here}: {conf_file} lets clients in without the users of nats/users.conf")
        # Every variable the configuration reads is in the server's environment.
        unquoted = re.sub(r'"[^"\n]*"', "", conf)
        for variable in sorted(set(re.findall(r"\$([A-Z][A-Z0-9_]*)", unquoted))):
            if variable not in env:
                problem(f"{here}: {conf_file} reads ${variable}, which its environment does not set")
        for user, password in nats_users.items():
            if not secret_reference(env.get(password.lstrip("$"), "")):
                variable = password.lstrip("$")
                problem(f"{here}: {variable} (the password of {user}) must come from the environment as ${{{variable}:?...}}")
        # One node fsyncs every write before acknowledging it (nats/nats-server.conf); a
        # cluster relies on three replicas instead (docs/architecture.md, "Durability").
        if len(nats) == 1 and conf_value(conf_block(conf, "jetstream"), "sync_interval") != ["always"]:
            problem(f"{here}: a single node whose {conf_file} does not sync every write (sync_interval: always)")
        port = int(args[args.index("-p") + 1]) if "-p" in args else None
        listen = conf_value(without_blocks(conf), "listen")
        port = port or (port_of(listen[-1]) if listen else 4222)
        for alias in names_of(name, service):
            reachable[alias] = port
        server_name = env.get("NATS_SERVER_NAME") if conf_value(conf, "server_name") == ["$NATS_SERVER_NAME"] else None
        server_name = server_name or next(iter(conf_value(conf, "server_name")), name)
        if server_name in server_names:
            problem(f"{here}: server_name {server_name} is also {server_names[server_name]}'s")
        server_names[server_name] = name
        # A cluster: routes need the route user's password; their URLs name the nodes.
        cluster = conf_block(conf, "cluster")
        if len(nats) > 1 and not cluster:
            problem(f"{here}: one of {len(nats)} nodes without a cluster block")
        if cluster:
            if not re.search(r"authorization\s*\{[^}]*password:\s*\$\w+", cluster):
                problem(f"{here}: routes without authorization (a password from the environment)")
            if re.search(r"nats-route://[^$\s]*:[^$\s]+@", conf):
                problem(f"{here}: a route URL carries a written password")
            for variable in re.findall(r"\$(NATS_ROUTE_\d+)", cluster):
                host = urlparse(env.get(variable, "")).hostname
                if host not in {a for n, s in nats.items() for a in names_of(n, s)}:
                    problem(f"{here}: {variable} routes to {host}, which is no NATS service")
        # TLS: the files it names are made by deploy/tls/make-certs.sh and mounted.
        blocks = [("client port", conf_block(conf, "tls"))]
        if cluster:
            blocks.append(("routes", conf_block(cluster, "tls")))
        for what, block in blocks:
            if not block:
                continue
            if what == "routes" and conf_value(block, "verify") != ["true"]:
                problem(f"{here}: TLS on the routes without verify: true")
            for key in ["cert_file", "key_file", "ca_file"]:
                for value in conf_value(block, key):
                    path = env.get(value.lstrip("$"), "") if value.startswith("$") else value
                    check_tls_file(stack, here, service, f"{key} of the {what}", path)
    if len(nats) > 1 and len(nats) != 3:
        problem(f"{where}: {len(nats)} NATS nodes; the cluster has 3")
    return reachable


def nats_conf(stack: Stack, service: dict) -> tuple[str | None, str]:
    """The repository file a NATS service runs (-c), and its text with includes inlined."""
    args = [str(a) for a in service.get("command", [])]
    conf_file = stack.host_file(service, args[args.index("-c") + 1]) if "-c" in args else None
    if not conf_file or not (ROOT / conf_file).is_file():
        return None, ""
    return conf_file, expand_conf(conf_file)


def check_tls_file(stack: Stack, here: str, service: dict, what: str, path: str) -> None:
    host = stack.host_file(service, path)
    if not host or str(Path(host).parent) != CERTS_DIR or Path(host).name not in cert_files:
        problem(f"{here}: {what} {path!r} is not one of the files deploy/tls/make-certs.sh makes in {CERTS_DIR}/, mounted")


def check_redis(stack: Stack) -> None:
    for name, service in stack.of_role("redis").items():
        command = " ".join(str(c) for c in service.get("command", []))
        if f"user default on >$$REDISCLI_AUTH {redis_rules}" not in command:
            problem(f"{stack.where}: {name}: the default user is not `on >$$REDISCLI_AUTH {redis_rules}` "
                    "(on standard input; the rules of crates/testkit/src/redis.rs)")
        if "requirepass" in command:
            problem(f"{stack.where}: {name}: requirepass as well as the default user's password")
        for app, app_service in {**stack.of_role("api"), **stack.of_role("projector")}.items():
            if env_of(service).get("REDISCLI_AUTH") != env_of(app_service).get("REDIS_PASSWORD"):
                problem(f"{stack.where}: {name}: REDISCLI_AUTH is not the REDIS_PASSWORD {app} uses")


def check_apps(stack: Stack, nats_names: dict[str, int]) -> dict[str, dict[str, list[str]]]:
    """The API and projector services: settings, commands, image, servers, credentials and the
    nodes they form. Returns the nodes: read model volume -> role -> services."""
    where, services = stack.where, stack.services
    nats = stack.of_role("nats")
    nats_env = {k: v for s in nats.values() for k, v in env_of(s).items()}
    client_tls = [bool(conf_block(nats_conf(stack, s)[1], "tls")) for s in nats.values()]
    verify = any(env_of(s).get("NATS_SERVER_TLS_VERIFY") == "true" for s in nats.values())
    redis_names = {a for n, s in stack.of_role("redis").items() for a in names_of(n, s)}
    declared_volumes = set((stack.compose.get("volumes") or {}).keys())
    images = set()
    nodes: dict[str, dict[str, list[str]]] = {}
    node_ids: dict[str, set[str]] = {}
    for name, service in {**stack.of_role("api"), **stack.of_role("projector"), **stack.of_role("notifier")}.items():
        here = f"{where}: {name}"
        role = stack.role(service)
        env = env_of(service)
        for key in env:
            if key not in code_settings:
                problem(f"{here}: {key} is not a setting the binary reads")
            if key not in example_settings:
                problem(f"{here}: {key} is not listed in .env.example")
        command = service.get("command", [])
        if not command or command[0] not in subcommands:
            problem(f"{here}: command {command} is not a subcommand of valentine ({sorted(subcommands)})")
        test = service.get("healthcheck", {}).get("test", [])
        if "valentine" in test and test[test.index("valentine") + 1] not in subcommands:
            problem(f"{here}: health check runs an unknown subcommand: {test}")
        build = service.get("build", {})
        if build.get("dockerfile") != "deploy/Dockerfile" or build.get("target") != "valentine":
            problem(f"{here}: not built from deploy/Dockerfile, target valentine")
        if (stack.project / build.get("context", ".")).resolve() != ROOT:
            problem(f"{here}: not built from the repository root")
        images.add(service.get("image"))
        if "container_name" in service:
            problem(f"{here}: container_name prevents scaling")

        # NATS: every server named is a NATS service at its port; the user is one of
        # nats/users.conf with the password the servers give it; TLS where the servers use it.
        servers = [s.strip() for s in env.get("NATS_URL", "").split(",") if s.strip()]
        if not servers:
            problem(f"{here}: no NATS_URL")
        for server in servers:
            url = urlparse(server)
            if nats_names.get(url.hostname) != url.port:
                problem(f"{here}: NATS_URL names {server}, which is no NATS service at that port ({nats_names})")
            if url.scheme != ("tls" if any(client_tls) else "nats"):
                problem(f"{here}: NATS_URL {server}: use {'tls' if any(client_tls) else 'nats'}:// with these servers")
        if len(nats) > 1:
            if env.get("NATS_REPLICAS") != "3":
                problem(f"{here}: must run with NATS_REPLICAS=3 (R3 streams) on the cluster")
            if {urlparse(s).hostname for s in servers} & set(nats_names) != {a for a in nats_names if a.startswith("nats-")}:
                problem(f"{here}: NATS_URL does not list every node of the cluster")
        user = env.get("NATS_USER", "")
        if user not in nats_users:
            problem(f"{here}: NATS_USER {user!r} is not a user of nats/users.conf")
        elif env.get("NATS_PASSWORD") != nats_env.get(nats_users[user].lstrip("$")):
            problem(f"{here}: NATS_PASSWORD is not the password the NATS servers give {user}")
        if any(client_tls):
            settings = ["NATS_TLS_CA"] + (["NATS_TLS_CERT", "NATS_TLS_KEY"] if verify else [])
            for setting in settings:
                if setting not in env:
                    problem(f"{here}: the NATS servers use TLS{' and verify clients' if verify else ''}, but {setting} is not set")
                else:
                    check_tls_file(stack, here, service, setting, env[setting])
        elif any(k.startswith("NATS_TLS_") for k in env):
            problem(f"{here}: NATS_TLS_* set, but the NATS servers do not use TLS")

        # A notifier: mail settings from the environment, its health where it serves it; no
        # read model, no Redis.
        if role == "notifier":
            if not env.get("SMTP_URL", "").startswith("${SMTP_URL"):
                problem(f"{here}: SMTP_URL (it may hold a password) must come from the environment")
            if "NOTIFIER_HEALTH_ADDR" not in env:
                problem(f"{here}: no NOTIFIER_HEALTH_ADDR for its health check")
            elif port_of(urlparse(healthcheck_url(here, service)).netloc or ":0") != port_of(env["NOTIFIER_HEALTH_ADDR"]):
                problem(f"{here}: health check port differs from NOTIFIER_HEALTH_ADDR")
            continue

        # Redis: a Redis service; the password from the environment, never in the URL.
        redis = urlparse(env.get("REDIS_URL", ""))
        if redis.hostname not in redis_names or redis.port != 6379:
            problem(f"{here}: REDIS_URL {env.get('REDIS_URL')} is not a Redis service at 6379")
        if not secret_reference(env.get("REDIS_PASSWORD", "")):
            problem(f"{here}: REDIS_PASSWORD must come from the environment as ${{REDIS_PASSWORD:?...}}")

        # The read model: a declared volume at DATABASE_PATH's folder; the node it makes.
        db_dir = str(Path(env.get("DATABASE_PATH", "/missing/x")).parent)
        volume = stack.mounts(service).get(db_dir)
        if volume is None:
            problem(f"{here}: DATABASE_PATH's folder {db_dir} is not a mounted volume")
            continue
        if volume not in declared_volumes:
            problem(f"{here}: volume {volume} is not declared")
        nodes.setdefault(volume, {}).setdefault(role, []).append(name)
        node_ids.setdefault(volume, set()).add(env.get("READ_MODEL_ID", "main"))

        # Ports: the health checks probe the addresses the process listens on.
        if role == "api":
            api_port = port_of(env.get("BIND_ADDR", ":0"))
            if port_of(urlparse(healthcheck_url(here, service)).netloc or ":0") != api_port:
                problem(f"{here}: health check port differs from BIND_ADDR")
            if str(api_port) not in [str(p) for p in service.get("expose", [])]:
                problem(f"{here}: BIND_ADDR port {api_port} is not exposed")
        elif "PROJECTOR_HEALTH_ADDR" in env:
            health_port = port_of(env["PROJECTOR_HEALTH_ADDR"])
            if port_of(urlparse(healthcheck_url(here, service)).netloc or ":0") != health_port:
                problem(f"{here}: health check port differs from PROJECTOR_HEALTH_ADDR")
        else:
            problem(f"{here}: no PROJECTOR_HEALTH_ADDR for its health check")
    if len(images) > 1:
        problem(f"{where}: the API and projector services run different images: {images}")

    # Nodes: one READ_MODEL_ID per read model, each its own, each with an API and a projector.
    seen_ids: dict[str, str] = {}
    for volume, roles in nodes.items():
        ids = node_ids[volume]
        if len(ids) > 1:
            problem(f"{where}: the services on volume {volume} have different READ_MODEL_IDs: {sorted(ids)}")
        for read_model in ids:
            if read_model in seen_ids:
                problem(f"{where}: volumes {seen_ids[read_model]} and {volume} both hold READ_MODEL_ID {read_model}")
            seen_ids[read_model] = volume
        for role in ["api", "projector"]:
            if role not in roles:
                problem(f"{where}: the node on volume {volume} has no {role}")
    return nodes


def check_web(stack: Stack) -> None:
    """nginx: its upstream names every API, its address alone is the APIs' trusted proxy."""
    where = stack.where
    apis = stack.of_role("api")
    subnets = [c["subnet"] for c in (stack.compose.get("networks") or {}).get("default", {}).get("ipam", {}).get("config", [])]
    if not subnets:
        problem(f"{where}: the default network has no fixed subnet, so TRUSTED_PROXIES cannot name nginx")
    for name, web in stack.of_role("web").items():
        here = f"{where}: {name}"
        address = ((web.get("networks") or {}).get("default") or {}).get("ipv4_address")
        if not address:
            problem(f"{here}: no fixed ipv4_address on the default network, so TRUSTED_PROXIES cannot name it alone")
            continue
        for api, service in apis.items():
            trusted = [ipaddress.ip_network(t.strip()) for t in env_of(service).get("TRUSTED_PROXIES", "").split(",") if t.strip()]
            if not any(ipaddress.ip_address(address) in t for t in trusted):
                problem(f"{where}: {api}: TRUSTED_PROXIES {trusted} does not include nginx's address {address}")
            for subnet in subnets:
                gateway = next(ipaddress.ip_network(subnet).hosts())
                if any(gateway in t for t in trusted):
                    problem(f"{where}: {api}: TRUSTED_PROXIES {trusted} includes the network's gateway {gateway}, "
                            "through which published ports forward any client")
        for subnet in subnets:
            gateway = str(next(ipaddress.ip_network(subnet).hosts()))
            if gateway not in nginx_real_ip:
                problem(f"{here}: deploy/nginx.conf believes X-Forwarded-For from {nginx_real_ip}, not this network's gateway {gateway}")
        # Every upstream server is the API: a service or alias every API has, at its port.
        api_names = set.intersection(*(names_of(n, s) for n, s in apis.items()))
        api_ports = {port_of(env_of(s).get("BIND_ADDR", ":0")) for s in apis.values()}
        for host, port in nginx_upstreams:
            if host not in api_names or {int(port)} != api_ports:
                problem(f"{here}: nginx's upstream {host}:{port} is not a name every API answers to "
                        f"({sorted(api_names)}) at their port {sorted(api_ports)}")
        others = {a for n, s in stack.services.items() if n not in apis for a in names_of(n, s)}
        for host, _ in nginx_upstreams:
            if host in others:
                problem(f"{here}: nginx's upstream {host} is also the name of a service that is no API")


def check_prometheus(stack: Stack, nodes: dict[str, dict[str, list[str]]]) -> None:
    """Prometheus scrapes every API, projector and notifier at the port it serves /metrics on,
    in a job named after its role (the alert rules select `up{job="api"}`...), and finds its
    rule files where the configuration names them: mounted files of the repository."""
    for name, service in stack.of_role("prometheus").items():
        here = f"{stack.where}: {name}"
        config_file = stack.host_file(service, "/etc/prometheus/prometheus.yml")
        if not config_file or not (ROOT / config_file).is_file():
            problem(f"{here}: no prometheus.yml of the repository mounted at /etc/prometheus/prometheus.yml")
            continue
        config = load(config_file)
        scraped: dict[str, set[int]] = {}
        role_of = {a: stack.role(s) for n, s in stack.services.items() for a in names_of(n, s)}
        for job in config.get("scrape_configs", []):
            if job.get("metrics_path", "/metrics") != "/metrics":
                problem(f"{config_file}: job {job.get('job_name')} scrapes {job.get('metrics_path')}, not /metrics")
            for sd in job.get("dns_sd_configs", []):
                for dns_name in sd.get("names", []):
                    scraped.setdefault(dns_name, set()).add(int(sd.get("port", 0)))
                    role = role_of.get(dns_name)
                    if role in ("api", "projector", "notifier") and job.get("job_name") != role:
                        problem(f"{config_file}: job {job.get('job_name')} scrapes {dns_name}, a {role}: name the job {role}")
            for static in job.get("static_configs", []):
                for target in static.get("targets", []):
                    host, port = target.rsplit(":", 1)
                    scraped.setdefault(host, set()).add(int(port))
        for roles in nodes.values():
            for role, members in roles.items():
                for member in members:
                    env = env_of(stack.services[member])
                    port = port_of(env.get("BIND_ADDR" if role == "api" else "PROJECTOR_HEALTH_ADDR", ":0"))
                    if port not in scraped.get(member, set()):
                        problem(f"{config_file}: {member} (its {role}) is not scraped at port {port}")
        for member, notifier in stack.of_role("notifier").items():
            port = port_of(env_of(notifier).get("NOTIFIER_HEALTH_ADDR", ":0"))
            if port not in scraped.get(member, set()):
                problem(f"{config_file}: {member} (a notifier) is not scraped at port {port}")
        # A relative rule file is read from the configuration's folder: in the container it
        # must be the mount of the repository file promtool checks.
        for rule_file in config.get("rule_files", []) or []:
            in_container = posixpath.normpath(posixpath.join("/etc/prometheus", rule_file))
            in_repo = posixpath.normpath(posixpath.join(posixpath.dirname(config_file), rule_file))
            mounted = stack.host_file(service, in_container)
            if mounted is None or posixpath.normpath(mounted) != in_repo:
                problem(f"{here}: rule file {rule_file} is {in_container} in the container, "
                        f"which is {mounted or 'not mounted'}, not {in_repo}")
        known = {a for n, s in stack.services.items() for a in names_of(n, s)} | {"127.0.0.1", "localhost"}
        for host in scraped:
            if host not in known:
                problem(f"{config_file}: scrapes {host}, which is no service of {stack.where}")


# --- nginx.conf -------------------------------------------------------------------------------
nginx = read("deploy/nginx.conf")
nginx_upstreams = re.findall(r"^\s*server\s+([\w.-]+):(\d+)\b", nginx, re.M)
nginx_real_ip = re.findall(r"set_real_ip_from\s+([\d.:/a-f]+);", nginx)
if "$proxy_add_x_forwarded_for" in nginx or "proxy_set_header X-Forwarded-For $remote_addr;" not in nginx:
    problem("deploy/nginx.conf: X-Forwarded-For must be set to $remote_addr, never appended to")
log_formats = re.findall(r"log_format\s+\w+\s+'([^;]*)';", nginx)
if not log_formats or any("remote_addr" in f or "forwarded" in f for f in log_formats) or "access_log " not in nginx:
    problem("deploy/nginx.conf: the access log must use a format without the client's address")
if not nginx_upstreams:
    problem("deploy/nginx.conf: no upstream server")
# Upstreams found again when containers come and go: Docker's DNS, `resolve`, a shared zone.
if not re.search(r"^\s*resolver\s+127\.0\.0\.11\b", nginx, re.M):
    problem("deploy/nginx.conf: no `resolver 127.0.0.11` (Docker's DNS) to find the API containers again")
for upstream in re.findall(r"upstream\s+\w+\s*\{([^}]*)\}", nginx):
    if "zone " not in upstream or re.search(r"^\s*server\s+(?![^;]*\bresolve\b)", upstream, re.M):
        problem("deploy/nginx.conf: an upstream server without `resolve` (and a zone): scaled or restarted APIs are missed")

# --- the Dockerfile: the targets compose builds, a non-root user, the web app, nginx's version --
dockerfile = read("deploy/Dockerfile")
stages = set(re.findall(r"^FROM\s+\S+\s+AS\s+(\S+)", dockerfile, re.M | re.I))
runtime = dockerfile.split("AS valentine", 1)[-1].split("\nFROM", 1)[0]
if not re.search(r"^USER\s+(?!root)\S+", runtime, re.M):
    problem("deploy/Dockerfile: the valentine image runs as root")
nginx_image = re.search(r"^FROM\s+nginx:(\d+)\.(\d+)\.(\d+)\S*\s+AS\s+web", dockerfile, re.M)
if not nginx_image or tuple(int(g) for g in nginx_image.groups()) < (1, 27, 3):
    problem("deploy/Dockerfile: the web stage must pin nginx 1.27.3 or later (`resolve` in its upstream)")

# --- NATS durability (docs/architecture.md, "Durability") -----------------------------------
# The single node fsyncs every write before acknowledging it: an acknowledged create survives
# a host crash, not only a crash of nats-server. A cluster relies on three replicas instead.
single_conf = read("nats/nats-server.conf")
if conf_value(single_conf, "sync_interval") != ["always"]:
    problem(f"nats/nats-server.conf: sync_interval must be always, found {conf_value(single_conf, 'sync_interval')}")

# --- the stacks ---------------------------------------------------------------------------------
checked = []
for files in STACKS:
    stack = Stack(files)
    check_stack(stack)
    for name, service in stack.services.items():
        target = (service.get("build") or {}).get("target")
        if target and target not in stages:
            problem(f"{stack.where}: {name}: Dockerfile has no stage {target}")
        if stack.role(service) == "api" and f"/web/dist {env_of(service).get('WEB_DIST', '/nowhere')}" not in runtime:
            problem(f"{stack.where}: {name}: deploy/Dockerfile does not copy the web app to its WEB_DIST")
    checked.append(f"{stack.where} ({len(stack.services)} services)")

# --- settings lists -----------------------------------------------------------------------------
# .env.example lists every setting the code reads, and nothing else.
for key in sorted(code_settings - example_settings):
    problem(f".env.example: {key} is read by the code but not listed")
for key in sorted(example_settings - code_settings):
    problem(f".env.example: {key} is listed but the code does not read it")
# The scripts that run the stack clear every setting before setting their own.
clear = re.search(r"stack_clear_settings\(\) \{\s*unset(.*?)\n\}", read("scripts/lib/stack.sh"), re.S)
cleared = set(re.findall(r"[A-Z][A-Z0-9_]+", clear.group(1))) if clear else set()
for key in sorted(code_settings - cleared):
    problem(f"scripts/lib/stack.sh: stack_clear_settings does not unset {key}")

if problems:
    print("\n".join(f"check-compose: {p}" for p in problems))
    sys.exit(1)
print(f"check-compose: ok ({len(code_settings)} settings, subcommands {sorted(subcommands)})")
for line in checked:
    print(f"  {line}")
