#!/usr/bin/env python3
"""Checks that docker-compose.yml, deploy/ and .env.example agree with the code.

The compose-spec schema check (check-jsonschema) says the file is well formed; this says it
is right for Valentine: every setting it passes is one the binary reads, every subcommand it
runs exists, and the ports, hosts, volumes, images and proxy addresses line up across the
compose file, the Dockerfile, nginx.conf and the code. Exits 1 with one line per problem.
"""

import ipaddress
import re
import sys
from pathlib import Path
from urllib.parse import urlparse

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
problems: list[str] = []


def problem(text: str) -> None:
    problems.append(text)


def read(path: str) -> str:
    return (ROOT / path).read_text(encoding="utf-8")


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

# --- the compose file -----------------------------------------------------------------------
compose = YAML(typ="safe").load(read("docker-compose.yml"))
services = compose.get("services", {})
for required in ["nats", "redis", "api", "projector", "web"]:
    if required not in services:
        problem(f"docker-compose.yml: no `{required}` service")
if problems:
    print("\n".join(problems))
    sys.exit(1)


def env_of(service: dict) -> dict:
    env = service.get("environment", {}) or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def port_of(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


def healthcheck_url(name: str, service: dict) -> str:
    test = service.get("healthcheck", {}).get("test", [])
    urls = [t for t in test if isinstance(t, str) and t.startswith("http")]
    if not urls:
        problem(f"{name}: no health check URL")
        return ""
    return urls[0]


for name, service in services.items():
    if "healthcheck" not in service:
        problem(f"{name}: no health check")
    for dep, condition in (service.get("depends_on") or {}).items():
        if dep not in services:
            problem(f"{name}: depends on unknown service {dep}")
        if not isinstance(condition, dict) or "condition" not in condition:
            problem(f"{name}: depends_on {dep} without a condition")

# The application services: settings, commands, the shared image and read model.
nats_args = services["nats"].get("command", [])
nats_port = int(nats_args[nats_args.index("-p") + 1]) if "-p" in nats_args else 4222
declared_volumes = set((compose.get("volumes") or {}).keys())
read_model_volumes = {}
for name in ["api", "projector"]:
    service = services[name]
    env = env_of(service)
    for key in env:
        if key not in code_settings:
            problem(f"{name}: {key} is not a setting the binary reads")
        if key not in example_settings:
            problem(f"{name}: {key} is not listed in .env.example")
    command = service.get("command", [])
    if not command or command[0] not in subcommands:
        problem(f"{name}: command {command} is not a subcommand of valentine ({sorted(subcommands)})")
    test = service.get("healthcheck", {}).get("test", [])
    if "valentine" in test and test[test.index("valentine") + 1] not in subcommands:
        problem(f"{name}: health check runs an unknown subcommand: {test}")
    build = service.get("build", {})
    if build.get("dockerfile") != "deploy/Dockerfile" or build.get("target") != "valentine":
        problem(f"{name}: not built from deploy/Dockerfile, target valentine")
    if service.get("image") != services["api"].get("image"):
        problem(f"{name}: api and projector must run the same image")
    nats = urlparse(env.get("NATS_URL", ""))
    if (nats.hostname, nats.port) != ("nats", nats_port):
        problem(f"{name}: NATS_URL {env.get('NATS_URL')} is not nats:{nats_port}")
    redis = urlparse(env.get("REDIS_URL", ""))
    if (redis.hostname, redis.port) != ("redis", 6379):
        problem(f"{name}: REDIS_URL {env.get('REDIS_URL')} is not redis:6379")
    db_dir = str(Path(env.get("DATABASE_PATH", "/missing/x")).parent)
    mounts = {v.split(":")[1]: v.split(":")[0] for v in service.get("volumes", []) if isinstance(v, str)}
    if db_dir not in mounts:
        problem(f"{name}: DATABASE_PATH's folder {db_dir} is not a mounted volume")
    else:
        read_model_volumes[name] = mounts[db_dir]
        if mounts[db_dir] not in declared_volumes:
            problem(f"{name}: volume {mounts[db_dir]} is not declared")
    if "ports" in service and name == "projector":
        problem("projector: publishes host ports, so it cannot be scaled")
    if "container_name" in service:
        problem(f"{name}: container_name prevents scaling")
if len(set(read_model_volumes.values())) > 1:
    problem(f"api and projector mount different read-model volumes: {read_model_volumes}")

api_env = env_of(services["api"])
api_port = port_of(api_env.get("BIND_ADDR", ":0"))
if port_of(urlparse(healthcheck_url("api", services["api"])).netloc or ":0") != api_port:
    problem("api: health check port differs from BIND_ADDR")
if str(api_port) not in [str(p) for p in services["api"].get("expose", [])]:
    problem(f"api: BIND_ADDR port {api_port} is not exposed")
projector_env = env_of(services["projector"])
if "PROJECTOR_HEALTH_ADDR" in projector_env:
    health_port = port_of(projector_env["PROJECTOR_HEALTH_ADDR"])
    if port_of(urlparse(healthcheck_url("projector", services["projector"])).netloc or ":0") != health_port:
        problem("projector: health check port differs from PROJECTOR_HEALTH_ADDR")
else:
    problem("projector: no PROJECTOR_HEALTH_ADDR for its health check")

# Images: the event store needs nats-server 2.11 or later.
nats_image = services["nats"].get("image", "")
match = re.match(r"nats:(\d+)\.(\d+)", nats_image)
if not match or (int(match.group(1)), int(match.group(2))) < (2, 11):
    problem(f"nats: image {nats_image} is older than nats-server 2.11")

# The proxy: nginx's fixed address, and nothing else, is the API's trusted proxy.
subnets = [c["subnet"] for c in compose.get("networks", {}).get("default", {}).get("ipam", {}).get("config", [])]
trusted = [ipaddress.ip_network(t.strip()) for t in api_env.get("TRUSTED_PROXIES", "").split(",") if t.strip()]
if not subnets:
    problem("networks: the default network has no fixed subnet, so TRUSTED_PROXIES cannot name nginx")
web_address = ((services["web"].get("networks") or {}).get("default") or {}).get("ipv4_address")
if not web_address:
    problem("web: no fixed ipv4_address on the default network, so TRUSTED_PROXIES cannot name it alone")
else:
    if not any(ipaddress.ip_address(web_address) in t for t in trusted):
        problem(f"api: TRUSTED_PROXIES {trusted} does not include nginx's address {web_address}")
    for subnet in subnets:
        gateway = next(ipaddress.ip_network(subnet).hosts())
        if any(gateway in t for t in trusted):
            problem(f"api: TRUSTED_PROXIES {trusted} includes the network's gateway {gateway}, "
                    "through which published ports forward any client")
for port in services["web"].get("ports", []):
    if not str(port).startswith("127.0.0.1:"):
        problem(f"web: port {port} is published beyond loopback; the TLS proxy in front is the way in")
nginx = read("deploy/nginx.conf")
if "$proxy_add_x_forwarded_for" in nginx or "proxy_set_header X-Forwarded-For $remote_addr;" not in nginx:
    problem("deploy/nginx.conf: X-Forwarded-For must be set to $remote_addr, never appended to")
log_formats = re.findall(r"log_format\s+\w+\s+'([^;]*)';", nginx)
if not log_formats or any("remote_addr" in f or "forwarded" in f for f in log_formats) or "access_log " not in nginx:
    problem("deploy/nginx.conf: the access log must use a format without the client's address")
upstreams = re.findall(r"server\s+([\w.-]+):(\d+);", nginx)
if ("api", str(api_port)) not in upstreams:
    problem(f"deploy/nginx.conf: no upstream api:{api_port} (found {upstreams})")
web = services["web"]
if web.get("build", {}).get("target") != "web":
    problem("web: not built from deploy/Dockerfile, target web")

# The Dockerfile: the targets compose builds, a non-root user, the web app where WEB_DIST says.
dockerfile = read("deploy/Dockerfile")
stages = set(re.findall(r"^FROM\s+\S+\s+AS\s+(\S+)", dockerfile, re.M | re.I))
for name, service in services.items():
    target = service.get("build", {}).get("target")
    if target and target not in stages:
        problem(f"{name}: Dockerfile has no stage {target}")
runtime = dockerfile.split("AS valentine", 1)[-1].split("\nFROM", 1)[0]
if not re.search(r"^USER\s+(?!root)\S+", runtime, re.M):
    problem("deploy/Dockerfile: the valentine image runs as root")
if f"/web/dist {api_env.get('WEB_DIST', '/nowhere')}" not in runtime:
    problem("deploy/Dockerfile: the web app is not copied to the API's WEB_DIST")

# --- NATS durability (docs/architecture.md, "Durability") -----------------------------------
def conf_value(text: str, key: str) -> list[str]:
    """The values of `key: value` lines in a nats-server configuration, quotes removed."""
    return [v.strip().strip('"') for v in re.findall(rf"^\s*{key}\s*[:=]\s*(.+?)\s*$", text, re.M)]


# The single node fsyncs every write before acknowledging it: an acknowledged create survives
# a host crash, not only a crash of nats-server.
single_conf = read("nats/nats-server.conf")
if conf_value(single_conf, "sync_interval") != ["always"]:
    problem(f"nats/nats-server.conf: sync_interval must be always, found {conf_value(single_conf, 'sync_interval')}")
# A cluster relies on three replicas instead: an acknowledged event is on a majority of nodes.
cluster = YAML(typ="safe").load(read("deploy/nats-cluster/compose.yml"))
cluster_services = cluster.get("services", {})
for name in ["api", "projector"]:
    if env_of(cluster_services.get(name, {})).get("NATS_REPLICAS") != "3":
        problem(f"deploy/nats-cluster/compose.yml: {name} must run with NATS_REPLICAS=3 (R3 streams)")
nodes = sorted((ROOT / "deploy/nats-cluster").glob("node-*.conf"))
if len(nodes) != 3:
    problem(f"deploy/nats-cluster: {len(nodes)} node configurations, not 3")


# --- NATS and Redis credentials and exposure (docs/deployment.md, "Secrets") ----------------
def secret_reference(value: str) -> bool:
    """Whether a compose value is a required variable, `${NAME:?why}`, not a literal."""
    return re.fullmatch(r"\$\{[A-Z][A-Z0-9_]*:\?[^}]+\}", value) is not None


# The single node: nats/nats-server.conf plus the users of nats/users.conf.
nats_conf = str(nats_args[nats_args.index("-c") + 1]) if "-c" in nats_args else ""
nats_mounts = {v.split(":")[1]: v.split(":")[0] for v in services["nats"].get("volumes", []) if isinstance(v, str)}
conf_dir = str(Path(nats_conf).parent)
if nats_mounts.get(conf_dir) != "./nats":
    problem(f"nats: its configuration {nats_conf} is not in the repository's nats/ folder")
else:
    served = read(f"nats/{Path(nats_conf).name}")
    includes = set(conf_value(served, "include")) | set(re.findall(r"^\s*include\s+(\S+)", served, re.M))
    for needed in ["nats-server.conf", "users.conf"]:
        if needed not in includes and Path(nats_conf).name != needed:
            problem(f"nats: {nats_conf} does not include {needed}")

# Clients need a password: the users of nats/users.conf, passwords from the environment.
users_conf = read("nats/users.conf")
nats_users = dict(re.findall(r"user:\s*(\w+)\s*\n\s*password:\s*(\S+)", users_conf))
if not nats_users:
    problem("nats/users.conf: no users")
for user, password in nats_users.items():
    if not password.startswith("$"):
        problem(f"nats/users.conf: the password of {user} is written in the file, not taken from the environment")
    variable = password.lstrip("$")
    if not secret_reference(env_of(services["nats"]).get(variable, "")):
        problem(f"nats: {variable} (the password of {user}) must come from the environment as ${{{variable}:?...}}")
for name in ["api", "projector"]:
    env = env_of(services[name])
    user = env.get("NATS_USER", "")
    if user not in nats_users:
        problem(f"{name}: NATS_USER {user!r} is not a user of nats/users.conf")
    elif env.get("NATS_PASSWORD") != env_of(services["nats"]).get(nats_users[user].lstrip("$")):
        problem(f"{name}: NATS_PASSWORD is not the password nats gives {user}")
    if not secret_reference(env.get("REDIS_PASSWORD", "")):
        problem(f"{name}: REDIS_PASSWORD must come from the environment as ${{REDIS_PASSWORD:?...}}")
redis = services["redis"]
redis_command = " ".join(str(c) for c in redis.get("command", []))
if "requirepass $$REDISCLI_AUTH" not in redis_command:
    problem("redis: no requirepass (from REDISCLI_AUTH, on standard input)")
if env_of(redis).get("REDISCLI_AUTH") != env_of(services["api"]).get("REDIS_PASSWORD"):
    problem("redis: REDISCLI_AUTH is not the REDIS_PASSWORD the API and projectors use")
for name in ["nats", "redis"]:
    for port in services[name].get("ports", []):
        problem(f"{name}: publishes port {port} on the host; the operator commands run in the network")

# The cluster nodes: routes that need a password, the same users.
for node in nodes:
    text = re.sub(r"#.*", "", node.read_text(encoding="utf-8"))
    where = f"deploy/nats-cluster/{node.name}"
    cluster_block = text.split("cluster {", 1)[-1] if "cluster {" in text else ""
    if "authorization" not in cluster_block or not re.search(r"password:\s*\$\w+", cluster_block):
        problem(f"{where}: routes without authorization (a password from the environment)")
    if not re.search(r"^\s*include\s+\.\./\.\./nats/users\.conf\s*$", text, re.M):
        problem(f"{where}: does not include ../../nats/users.conf")
    if re.search(r"nats-route://[^$\s]*:[^$\s]+@", text):
        problem(f"{where}: a route URL carries a written password")
for name, service in cluster_services.items():
    if name.startswith("nats"):
        if any(str(arg) == "--cluster" or str(arg).startswith("--cluster=") for arg in service.get("command", [])):
            problem(f"deploy/nats-cluster/compose.yml: {name} sets the cluster on its command line, "
                    "which drops the routes' authorization")
        for port in service.get("ports", []):
            problem(f"deploy/nats-cluster/compose.yml: {name} publishes port {port} on the host")

# .env.example lists every setting the code reads, and nothing else.
for key in sorted(code_settings - example_settings):
    problem(f".env.example: {key} is read by the code but not listed")
for key in sorted(example_settings - code_settings):
    problem(f".env.example: {key} is listed but the code does not read it")

if problems:
    print("\n".join(f"check-compose: {p}" for p in problems))
    sys.exit(1)
print(f"check-compose: ok ({len(services)} services, {len(code_settings)} settings, subcommands {sorted(subcommands)})")
