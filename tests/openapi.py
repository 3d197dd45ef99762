"""Checks a real reply against the OpenAPI document the daemon serves
(/api/v1/openapi.json): the operation of the request (its method and the
document's templated path it matches) must list the reply's status, the
body must hold to that response's schema, and the headers the response
marks required (Location, ETag, Retry-After) must be there.

tests/daemon.py calls check_response() on every reply of Daemon.request(),
so the whole end-to-end suite checks every reply it sees against the
document. A status the document does not list is an error, but for a 5xx
where the operation has "default" (the daemon's own failures).

OpenAPI 3.0 schemas are JSON Schema but for "nullable": each schema with
"nullable: true" becomes anyOf [null, itself] before validating, so a
nullable member that is also an allOf or a $ref accepts null too."""
import json
import re
import urllib.request

import jsonschema

# Check formats the document uses; jsonschema's own date-time check needs
# a package Debian does not install.
DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
FORMATS = jsonschema.FormatChecker(formats=())


@FORMATS.checks("date-time")
def _date_time(value):
    return not isinstance(value, str) or bool(DATE_TIME.match(value))


@FORMATS.checks("uri")
def _uri(value):
    return not isinstance(value, str) or bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:\S*$", value))


class ResponseError(AssertionError):
    """A reply the document does not describe."""


def _json_schema(s):
    """S (OpenAPI 3.0) as plain JSON Schema: nullable spelled out."""
    if isinstance(s, list):
        return [_json_schema(x) for x in s]
    if not isinstance(s, dict):
        return s
    out = {k: _json_schema(v) for k, v in s.items() if k not in ("nullable", "example")}
    if s.get("nullable") is True:
        return {"anyOf": [{"type": "null"}, out]}
    return out


class Document:
    """An OpenAPI document, ready to check replies against."""

    def __init__(self, doc):
        self.doc = doc
        self.root = {"components": _json_schema(doc.get("components", {}))}
        self.validators = {}
        # templated paths, most literal segments first, so /runs/{id}/cancel
        # is tried before a template that also matches
        self.paths = []
        for template in doc.get("paths", {}):
            segs = template.strip("/").split("/")
            self.paths.append((template, segs))
        self.paths.sort(key=lambda p: -sum(not s.startswith("{") for s in p[1]))

    def operation(self, method, path):
        """The (template, operation) of METHOD PATH (a query is ignored);
        None when no template matches or the template lacks METHOD."""
        segs = path.split("?", 1)[0].strip("/").split("/")
        for template, tsegs in self.paths:
            if len(tsegs) == len(segs) and all(
                    t == s or (t.startswith("{") and t.endswith("}") and s)
                    for t, s in zip(tsegs, segs)):
                op = self.doc["paths"][template].get(method.lower())
                return (template, op) if op else None
        return None

    def resolve(self, obj):
        """OBJ, or what its $ref ("#/...") names."""
        while isinstance(obj, dict) and "$ref" in obj:
            node = self.doc
            for part in obj["$ref"].lstrip("#/").split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
            obj = node
        return obj

    def validator(self, schema):
        key = json.dumps(schema, sort_keys=True)
        v = self.validators.get(key)
        if v is None:
            v = jsonschema.Draft7Validator(dict(self.root, allOf=[_json_schema(schema)]),
                                           format_checker=FORMATS)
            self.validators[key] = v
        return v

    def check(self, method, path, status, headers, body, content_type=None):
        """Raises ResponseError when the reply STATUS, HEADERS (a mapping,
        looked up case-insensitively) and BODY (parsed JSON, text or None)
        of METHOD PATH is not what the document says. A path or method the
        document does not have is not checked (its 404 or 405 is the
        server's, not an operation's)."""
        found = self.operation("GET" if method == "HEAD" else method, path)
        if not found:
            return
        template, op = found
        what = f"{method} {path} ({op.get('operationId', template)}) answered {status}"
        responses = op.get("responses", {})
        response = responses.get(str(status))
        if response is None and status >= 500:
            response = responses.get("default")
        if response is None:
            raise ResponseError(f"{what}: the document lists only {sorted(responses)}")
        response = self.resolve(response)
        lower = {k.lower(): v for k, v in (headers or {}).items()}
        for name, h in response.get("headers", {}).items():
            h = self.resolve(h)
            value = lower.get(name.lower())
            if value is None:
                if h.get("required"):
                    raise ResponseError(f"{what}: no {name} header")
                continue
            if h.get("schema", {}).get("type") == "integer":
                if not re.fullmatch(r"\d+", value):
                    raise ResponseError(f"{what}: {name}: {value!r} is not an integer")
        content = response.get("content")
        if method == "HEAD" or status == 204:
            return
        if not content:
            if body not in (None, "", b""):
                raise ResponseError(f"{what}: the document says no body, got {body!r:.200}")
            return
        # media types compare without their parameters ("; charset=utf-8")
        ctype = (content_type or "").split(";")[0].strip().lower()
        media = next((m for k, m in content.items()
                      if k.split(";")[0].strip().lower() == ctype), None) if ctype else None
        if media is None and ctype:
            raise ResponseError(f"{what}: {ctype} is not among {sorted(content)}")
        if media is None or not ctype.endswith("json") or "schema" not in media:
            return
        errors = sorted(self.validator(media["schema"]).iter_errors(body),
                        key=lambda e: list(e.absolute_path))
        if errors:
            e = errors[0]
            where = "/".join(str(p) for p in e.absolute_path) or "(the body)"
            raise ResponseError(f"{what}: at {where}: {e.message:.300}"
                                f" ({len(errors)} error{'s' if len(errors) > 1 else ''})")


_DOCUMENTS = {}


def served(url, token):
    """The document the daemon at URL serves, fetched once per binary run
    of the suite (every daemon of a test session serves the same)."""
    doc = _DOCUMENTS.get("served")
    if doc is None:
        req = urllib.request.Request(url + "/api/v1/openapi.json",
                                     headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(req, timeout=30) as r:
            doc = Document(json.loads(r.read().decode()))
        _DOCUMENTS["served"] = doc
    return doc


def check_response(doc, method, path, status, headers, body, content_type=None):
    """Checks one reply against DOC (a Document or the document's JSON)."""
    if not isinstance(doc, Document):
        doc = Document(doc)
    doc.check(method, path, status, headers, body, content_type)
