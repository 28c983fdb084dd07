#!/usr/bin/env python3
"""Checks the Postman collection against the server's OpenAPI document. Python 3 standard library only.

    cargo run -q -- openapi > /tmp/openapi.json
    python3 postman/check.py /tmp/openapi.json [postman/integrations-core.postman_collection.json]

Fails (exit 1, one line per problem) when:
  - the collection is not what postman/generate.py writes (run `python3 postman/generate.py`);
  - a request's method and path are not an operation of the document (a `{{var}}` segment matches a
    `{param}` segment; a literal segment only itself);
  - a request sends a query parameter the operation does not declare, or lacks a required one;
  - a request's JSON body has a key its schema does not define, or lacks a required one;
  - a request to a secured operation carries no token of a scheme the operation accepts, or a request
    to an open operation carries one;
  - an operation of the document with a security scheme has no request in the collection, unless it
    is in EXCEPTIONS below with the reason.
"""

import json
import os
import re
import sys
from urllib.parse import urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_COLLECTION = os.path.join(HERE, "integrations-core.postman_collection.json")

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")

# Secured operations the collection deliberately has no request for: (METHOD, path) -> reason.
# (POST /call/status_callback/{app_id} is not secured by a scheme: it is authenticated by a signed URL,
# which only the server hands to Exotel; so it needs no entry here.)
EXCEPTIONS = {}

# The variable in a raw `Authorization` header, and the security scheme it satisfies.
TOKEN_SCHEMES = {
    "{{customerToken}}": "customer_token",
    "{{appToken}}": "app_token",
    "{{adminToken}}": "admin_token",
}

VAR = re.compile(r"^\{\{[^{}]+\}\}$")
PARAM = re.compile(r"^\{[^{}]+\}$")


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def requests_of(items, trail=()):
    """Every request of the collection, with its folder trail."""
    for item in items:
        if "item" in item:
            yield from requests_of(item["item"], trail + (item["name"],))
        elif "request" in item:
            yield trail + (item["name"],), item["request"]


def variable_default(collection, name):
    for var in collection.get("variable", []):
        if var.get("key") == name:
            return var.get("value", "")
    return None


def request_path(request, base_prefix):
    """The request's path (from the structured URL, as newman sends it), the base URL's path prefixed."""
    url = request["url"]
    host = url.get("host", [])
    if host != ["{{baseUrl}}"]:
        raise ValueError(f"URL host must be {{{{baseUrl}}}}, not {host!r}")
    segments = [s for s in url.get("path", []) if s != ""]
    raw = url.get("raw", "")
    raw_path = raw.split("?", 1)[0]
    expected_raw = "{{baseUrl}}/" + "/".join(segments)
    if raw_path != expected_raw:
        raise ValueError(f"url.raw {raw_path!r} does not match url.path {expected_raw!r}")
    return [s for s in base_prefix.split("/") if s] + segments


def match(segments, template):
    parts = [s for s in template.split("/") if s]
    if len(parts) != len(segments):
        return False
    for seg, part in zip(segments, parts):
        if PARAM.match(part):
            if not VAR.match(seg):
                return False
        elif seg != part:
            return False
    return True


def resolve(doc, schema):
    seen = 0
    while isinstance(schema, dict) and "$ref" in schema:
        ref = schema["$ref"]
        if not ref.startswith("#/"):
            raise ValueError(f"unsupported $ref {ref}")
        node = doc
        for key in ref[2:].split("/"):
            node = node[key]
        schema = node
        seen += 1
        if seen > 50:
            raise ValueError(f"$ref loop at {ref}")
    return schema


def object_schemas(doc, schema):
    """The object schemas a value may match (through oneOf/anyOf/allOf and array items)."""
    schema = resolve(doc, schema)
    out = []
    for key in ("oneOf", "anyOf"):
        for sub in schema.get(key, []):
            out.extend(object_schemas(doc, sub))
    if "properties" in schema or schema.get("type") == "object":
        out.append(schema)
    return out


def check_body_value(doc, schema, value, where):
    """Problems with one JSON object against the object schemas it may match (the closest one)."""
    candidates = object_schemas(doc, schema)
    if not candidates:
        return [f"{where}: the document's schema for this body has no object form"]
    best = None
    for cand in candidates:
        props = cand.get("properties", {})
        problems = []
        unknown = sorted(set(value) - set(props))
        if unknown:
            problems.append(f"{where}: keys {unknown} are not properties of the schema")
        missing = [k for k in cand.get("required", []) if k not in value]
        if missing:
            problems.append(f"{where}: required keys {missing} are missing")
        if best is None or len(problems) < len(best):
            best = problems
    return best


def check_body(doc, operation, request, where):
    body = request.get("body")
    spec = operation.get("requestBody")
    if body is None:
        if spec and resolve(doc, spec).get("required"):
            return [f"{where}: the operation requires a body and the request sends none"]
        return []
    if not spec:
        return [f"{where}: the request sends a body the operation does not take"]
    content = resolve(doc, spec).get("content", {})
    if body.get("mode") != "raw" or "application/json" not in content:
        return []
    try:
        value = json.loads(body["raw"])
    except json.JSONDecodeError as e:
        return [f"{where}: the body is not JSON: {e}"]
    schema = content["application/json"].get("schema", {})
    if isinstance(value, list):
        # An array body: the document's array form, each element checked against its items.
        arrays = [s for s in [resolve(doc, schema)] + [resolve(doc, x) for x in resolve(doc, schema).get("oneOf", [])]
                  if s.get("type") == "array"]
        if not arrays:
            return [f"{where}: the body is an array and the schema has no array form"]
        problems = []
        for i, element in enumerate(value):
            problems += check_body_value(doc, arrays[0]["items"], element, f"{where} [{i}]")
        return problems
    return check_body_value(doc, schema, value, where)


def main(argv):
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    doc = load_json(argv[1])
    collection_path = argv[2] if len(argv) == 3 else DEFAULT_COLLECTION
    collection = load_json(collection_path)
    problems = []

    # 1. The committed collection is generate.py's output.
    if os.path.abspath(collection_path) == os.path.abspath(DEFAULT_COLLECTION):
        sys.path.insert(0, HERE)
        sys.dont_write_bytecode = True
        import generate  # noqa: E402

        with open(collection_path, encoding="utf-8") as f:
            if f.read() != generate.render():
                problems.append(f"{os.path.relpath(collection_path)} is stale: run `python3 postman/generate.py`")

    schema_url = collection.get("info", {}).get("schema", "")
    if "v2.1.0" not in schema_url:
        problems.append(f"info.schema is not Postman collection v2.1: {schema_url!r}")

    base_url = variable_default(collection, "baseUrl")
    if base_url is None:
        problems.append("the collection has no baseUrl variable")
        base_url = ""
    base_prefix = urlsplit(base_url).path

    # Operations of the document.
    operations = []
    for template, item in doc.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                operations.append((method.upper(), template, item[method], item.get("parameters", [])))
    covered = set()

    for trail, request in requests_of(collection.get("item", [])):
        where = " / ".join(trail)
        method = request.get("method", "GET").upper()
        try:
            segments = request_path(request, base_prefix)
        except ValueError as e:
            problems.append(f"{where}: {e}")
            continue
        shown = "/" + "/".join(segments)
        found = [(m, t, op, shared) for m, t, op, shared in operations if m == method and match(segments, t)]
        if not found:
            problems.append(f"{where}: {method} {shown} is not an operation of the OpenAPI document")
            continue
        if len(found) > 1:
            problems.append(f"{where}: {method} {shown} matches several operations: {[t for _, t, _, _ in found]}")
            continue
        _, template, operation, shared = found[0]
        covered.add((method, template))

        # Query parameters.
        params = [resolve(doc, p) for p in shared + operation.get("parameters", [])]
        declared = {p["name"] for p in params if p.get("in") == "query"}
        sent = [q["key"] for q in request["url"].get("query", []) if not q.get("disabled")]
        for key in sent:
            if key not in declared:
                problems.append(f"{where}: query parameter {key!r} is not declared by {method} {template}")
        for p in params:
            if p.get("in") == "query" and p.get("required") and p["name"] not in sent:
                problems.append(f"{where}: required query parameter {p['name']!r} is missing")

        # Authorization.
        headers = {h["key"].lower(): h.get("value", "") for h in request.get("header", []) if not h.get("disabled")}
        accepted = {name for requirement in operation.get("security", []) for name in requirement}
        auth = headers.get("authorization")
        if accepted:
            scheme = TOKEN_SCHEMES.get(auth)
            if auth is None:
                problems.append(f"{where}: {method} {template} needs one of {sorted(accepted)}; no Authorization header")
            elif scheme not in accepted:
                problems.append(f"{where}: Authorization {auth!r} is not one of {sorted(accepted)}")
        elif auth is not None:
            problems.append(f"{where}: {method} {template} takes no token, yet the request sends Authorization")

        # Body.
        problems += check_body(doc, operation, request, where)

    # 2. Every secured operation has a request (or a stated reason not to).
    for method, template, operation, _ in operations:
        if not operation.get("security"):
            continue
        key = (method, template)
        if key in covered:
            if key in EXCEPTIONS:
                problems.append(f"{method} {template} is listed in EXCEPTIONS but the collection covers it")
            continue
        if key not in EXCEPTIONS:
            problems.append(f"{method} {template} ({operation.get('operationId')}) is secured and has no request "
                            f"in the collection (add one, or list it in EXCEPTIONS with the reason)")
    for key in EXCEPTIONS:
        if not any((m, t) == key for m, t, _, _ in operations):
            problems.append(f"EXCEPTIONS names {key}, which the document does not have")

    requests = sum(1 for _ in requests_of(collection.get("item", [])))
    if problems:
        for p in problems:
            print(f"postman/check.py: {p}", file=sys.stderr)
        print(f"postman/check.py: FAILED ({len(problems)} problem(s))", file=sys.stderr)
        return 1
    secured = sum(1 for _, _, op, _ in operations if op.get("security"))
    print(f"postman/check.py: ok: {requests} requests, all operations of the document; "
          f"{len(covered)} of {len(operations)} operations covered, every one of the {secured} secured ones"
          + (f" but {len(EXCEPTIONS)} listed exception(s)" if EXCEPTIONS else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
