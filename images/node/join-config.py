#!/usr/bin/python3
"""Checks the join info against the join-info JSON Schema and renders the agent's configuration.

Usage: join-config.py SCHEMA JOIN_INFO OUTPUT

Writes the k3s agent config, or the kubeadm JoinConfiguration, for the join
info's join_method into OUTPUT (an existing file: its 0600 mode is kept) and
prints the join method. Every value reaches the output through a YAML
serialiser, never through a shell.

Exit codes: 0 rendered; 2 cannot run (usage, PyYAML, an unreadable or
unsupported schema); 4 the join info is invalid (each problem printed with its field).
The validator implements the schema subset of src/joininfo/schema-subset.ts,
with the same messages, so both sides pass the same test vectors.
"""
import json
import re
import sys

EXIT_SETUP = 2
EXIT_INVALID = 4

try:
    import yaml
except ImportError:
    print("join-config: PyYAML is missing (install python3-pyyaml)", file=sys.stderr)
    sys.exit(EXIT_SETUP)

SUPPORTED_KEYWORDS = {
    "type", "const", "enum", "pattern", "maxLength", "required", "properties", "additionalProperties", "propertyNames", "items", "$ref", "$defs",
    "$schema", "$id", "title", "description",
}


def is_integer(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and float(value).is_integer()


TYPES = {
    "object": (lambda value: isinstance(value, dict), "must be a map"),
    "array": (lambda value: isinstance(value, list), "must be a list"),
    "string": (lambda value: isinstance(value, str), "must be a string"),
    "integer": (is_integer, "must be an integer"),
}


class SetupError(Exception):
    pass


def check_keywords(node):
    for keyword in node:
        if keyword not in SUPPORTED_KEYWORDS:
            raise SetupError(f"schema keyword {keyword} is not supported")
    children = list(node.get("properties", {}).values()) + list(node.get("$defs", {}).values())
    children += [node.get(key) for key in ("propertyNames", "items", "additionalProperties")]
    for child in children:
        if isinstance(child, dict):
            check_keywords(child)


def path_segment(key):
    """Keys with other characters are quoted, so a hostile key cannot forge a log line."""
    return key if re.fullmatch(r"[A-Za-z0-9_./-]+", key) else json.dumps(key, ensure_ascii=False)


def child_path(path, key):
    return path_segment(key) if path == "" else f"{path}.{path_segment(key)}"


def schema_errors(schema, value, root_name):
    """Every way value breaks schema, each as '<field path>: <problem>'."""
    check_keywords(schema)

    def resolve(node):
        ref = node.get("$ref")
        if ref is None:
            return node
        target = schema.get("$defs", {}).get(ref[len("#/$defs/"):]) if ref.startswith("#/$defs/") else None
        if target is None:
            raise SetupError(f"schema reference {ref} is not supported")
        return target

    def visit(raw_node, data, path, errors):
        node = resolve(raw_node)

        def fail(problem):
            errors.append(f"{path or root_name}: {problem}")

        if "type" in node:
            if node["type"] not in TYPES:
                raise SetupError(f"schema type {node['type']} is not supported")
            test, message = TYPES[node["type"]]
            if not test(data):
                return fail(message)
        if "const" in node and data != node["const"]:
            return fail(f"must be {json.dumps(node['const'])}")
        if "enum" in node and data not in node["enum"]:
            return fail("must be one of " + ", ".join(str(option) for option in node["enum"]))
        if isinstance(data, str) and "maxLength" in node and len(data) > node["maxLength"]:
            return fail(f"longer than {node['maxLength']} characters")
        # Patterns are anchored with ^ and $; fullmatch keeps a trailing newline from slipping past $.
        if isinstance(data, str) and "pattern" in node and not re.fullmatch(node["pattern"], data):
            return fail("invalid value")
        if isinstance(data, list) and "items" in node:
            for index, item in enumerate(data):
                visit(node["items"], item, f"{path}[{index}]", errors)
        if not isinstance(data, dict):
            return None
        for key in node.get("required", []):
            if key not in data:
                errors.append(f"{child_path(path, key)}: required")
        for key, child in data.items():
            if "propertyNames" in node and visit_errors(node["propertyNames"], key, "key"):
                fail(f"invalid key {json.dumps(key, ensure_ascii=False)}")
                continue
            declared = node.get("properties", {}).get(key)
            additional = node.get("additionalProperties", True)
            if declared is not None:
                visit(declared, child, child_path(path, key), errors)
            elif additional is False:
                errors.append(f"{child_path(path, key)}: unknown field")
            elif isinstance(additional, dict):
                visit(additional, child, child_path(path, key), errors)
        return None

    def visit_errors(node, data, path):
        errors = []
        visit(node, data, path, errors)
        return errors

    return visit_errors(schema, value, "")


class Yaml12Loader(yaml.SafeLoader):
    """YAML 1.2 core scalars, as the controller's renderer writes them: 'on', '2024-01-01' and '1_000' stay strings.

    Map keys are taken as written and must be unique, as in the controller's YAML library.
    """

    yaml_implicit_resolvers = {}

    def construct_mapping(self, node, deep=False):
        mapping = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise yaml.constructor.ConstructorError(None, None, "map keys must be scalars", key_node.start_mark)
            if key_node.value in mapping:
                raise yaml.constructor.ConstructorError(None, None, "map keys must be unique", key_node.start_mark)
            mapping[key_node.value] = self.construct_object(value_node, deep=deep)
        return mapping


for tag, pattern, first in (
    ("null", r"~|null|Null|NULL|", ["~", "n", "N", ""]),
    ("bool", r"true|True|TRUE|false|False|FALSE", list("tTfF")),
    ("int", r"[-+]?[0-9]+", list("-+0123456789")),
    ("float", r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)", list("-+.0123456789")),
):
    Yaml12Loader.add_implicit_resolver(f"tag:yaml.org,2002:{tag}", re.compile(f"^(?:{pattern})$"), first)


def load_join_info(path):
    try:
        with open(path, encoding="utf-8") as stream:
            return yaml.load(stream, Loader=Yaml12Loader), None
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        return None, "join info: not valid YAML: " + str(error).split("\n")[0]


def k3s_config(info):
    config = {
        "server": info["server_url"],
        # The secure token form: the agent checks the server's CA against the hash before it sends the token.
        "token": f"K10{info['ca_cert_hash'][len('sha256:'):]}::{info['token']}",
        "node-name": info["node_name"],
    }
    if info["labels"]:
        config["node-label"] = [f"{key}={value}" for key, value in info["labels"].items()]
    if info["taints"]:
        config["node-taint"] = [f"{taint['key']}={taint['value']}:{taint['effect']}" for taint in info["taints"]]
    return config


def api_server_endpoint(server_url):
    """host:port as kubeadm's discovery wants it; 443 when the URL names no port."""
    authority = server_url[len("https://"):]
    return f"{authority}:443" if authority.endswith("]") or ":" not in authority else authority


def kubeadm_config(info):
    registration = {"name": info["node_name"], "criSocket": "unix:///run/containerd/containerd.sock"}
    if info["taints"]:
        registration["taints"] = [{"key": t["key"], "value": t["value"], "effect": t["effect"]} for t in info["taints"]]
    if info["labels"]:
        labels = ",".join(f"{key}={value}" for key, value in info["labels"].items())
        registration["kubeletExtraArgs"] = [{"name": "node-labels", "value": labels}]
    return {
        "apiVersion": "kubeadm.k8s.io/v1beta4",
        "kind": "JoinConfiguration",
        "discovery": {
            "bootstrapToken": {
                "apiServerEndpoint": api_server_endpoint(info["server_url"]),
                "token": info["token"],
                "caCertHashes": [info["ca_cert_hash"]],
            },
        },
        "nodeRegistration": registration,
    }


RENDERERS = {"k3s": k3s_config, "kubeadm": kubeadm_config}
HEADER = "# Written by marooned-node-boot from /etc/marooned/join-info.yaml.\n"


def main(argv):
    if len(argv) != 4:
        print("usage: join-config.py SCHEMA JOIN_INFO OUTPUT", file=sys.stderr)
        return EXIT_SETUP
    schema_path, join_info_path, output_path = argv[1:]
    try:
        with open(schema_path, encoding="utf-8") as stream:
            schema = json.load(stream)
        info, error = load_join_info(join_info_path)
        errors = [error] if error else schema_errors(schema, info, "join info")
    except (OSError, ValueError, SetupError) as problem:
        print(f"join-config: cannot check the join info: {problem}", file=sys.stderr)
        return EXIT_SETUP
    for message in errors:
        print(f"invalid join info: {message}", file=sys.stderr)
    if errors:
        return EXIT_INVALID
    with open(output_path, "w", encoding="utf-8") as output:
        output.write(HEADER + yaml.safe_dump(RENDERERS[info["join_method"]](info), sort_keys=False, default_flow_style=False))
    print(info["join_method"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
