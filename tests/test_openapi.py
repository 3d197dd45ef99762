"""The reply checker of tests/openapi.py against hand-made documents: a
reply the document does not describe is caught, one it does passes."""
import jsonschema
import pytest

from openapi import Document, ResponseError, check_response

DOC = {
    "openapi": "3.0.3",
    "paths": {
        "/things": {
            "post": {
                "operationId": "createThing",
                "responses": {
                    "201": {
                        "description": "made",
                        "headers": {"Location": {"required": True, "schema": {"type": "string"}}},
                        "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/Thing"}}},
                    },
                    "429": {"$ref": "#/components/responses/TooMany"},
                    "default": {"$ref": "#/components/responses/Problem"},
                },
            },
        },
        "/things/{id}": {
            "get": {
                "responses": {
                    "200": {"description": "one", "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/Thing"}}}},
                    "404": {"$ref": "#/components/responses/Problem"},
                },
            },
            "delete": {"responses": {"204": {"description": "gone"}}},
        },
        "/things/{id}/text": {
            "get": {"responses": {"200": {"description": "text", "content": {
                "text/plain": {"schema": {"type": "string"}}}}}},
        },
        "/metrics": {
            "get": {"responses": {"200": {"description": "text", "content": {
                "text/plain; version=0.0.4": {"schema": {"type": "string"}}}}}},
        },
        "/things/new": {
            "get": {"responses": {"200": {"description": "literal", "content": {
                "application/json": {"schema": {"type": "array"}}}}}},
        },
    },
    "components": {
        "schemas": {
            "Thing": {
                "type": "object",
                "required": ["id", "name", "at", "last"],
                "properties": {
                    "id": {"type": "integer"},
                    "name": {"type": "string", "nullable": True},
                    "at": {"type": "string", "format": "date-time"},
                    "last": {"type": "object", "nullable": True,
                             "allOf": [{"$ref": "#/components/schemas/Last"}]},
                },
            },
            "Last": {"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}},
            "Problem": {"type": "object", "required": ["status"],
                        "properties": {"status": {"type": "integer"}}},
        },
        "responses": {
            "Problem": {"description": "a problem", "content": {"application/problem+json": {
                "schema": {"$ref": "#/components/schemas/Problem"}}}},
            "TooMany": {"description": "wait", "headers": {
                "Retry-After": {"required": True, "schema": {"type": "integer"}}},
                "content": {"application/problem+json": {
                    "schema": {"$ref": "#/components/schemas/Problem"}}}},
        },
    },
}

THING = {"id": 1, "name": "a", "at": "2024-05-01T10:00:00Z", "last": {"n": 3}}
JSON = "application/json"
PROBLEM = "application/problem+json"


@pytest.fixture
def doc():
    return Document(DOC)


def test_a_reply_the_document_describes_passes(doc):
    doc.check("POST", "/things", 201, {"location": "/things/1"}, THING, JSON)
    doc.check("GET", "/things/1?x=y", 200, {}, dict(THING, name=None, last=None), JSON)
    doc.check("GET", "/things/1/text", 200, {}, "hello", "text/plain; charset=utf-8")
    doc.check("GET", "/metrics", 200, {}, "up 1", "text/plain; version=0.0.4; charset=utf-8")
    doc.check("DELETE", "/things/1", 204, {}, "", None)
    doc.check("HEAD", "/things/1", 200, {}, "", JSON)
    doc.check("POST", "/things", 429, {"Retry-After": "3"}, {"status": 429}, PROBLEM)
    check_response(DOC, "POST", "/things", 503, {}, {"status": 503}, PROBLEM)


def test_a_literal_segment_wins_over_a_template(doc):
    doc.check("GET", "/things/new", 200, {}, [], JSON)
    with pytest.raises(ResponseError, match="new"):
        doc.check("GET", "/things/new", 200, {}, THING, JSON)


def test_paths_and_methods_the_document_lacks_are_not_checked(doc):
    doc.check("GET", "/nothing", 404, {}, {"status": 404}, PROBLEM)
    doc.check("PATCH", "/things/1", 405, {}, "", None)
    assert doc.operation("GET", "/things/1/text/more") is None
    assert doc.operation("GET", "/things//text") is None


@pytest.mark.parametrize("body, where", [
    ({k: v for k, v in THING.items() if k != "at"}, "'at' is a required property"),
    (dict(THING, id="1"), "'1' is not of type 'integer'"),
    (dict(THING, at="yesterday"), "is not a 'date-time'"),
    (dict(THING, at=None), "at at"),
    (dict(THING, last={"n": "3"}), "at last"),
    (dict(THING, last={}), "at last"),
    ([THING], "the body"),
])
def test_a_body_that_breaks_the_schema_is_caught(doc, body, where):
    with pytest.raises(ResponseError, match=where):
        doc.check("GET", "/things/1", 200, {}, body, JSON)


def test_an_undeclared_status_is_caught(doc):
    with pytest.raises(ResponseError, match="lists only"):
        doc.check("GET", "/things/1", 201, {}, THING, JSON)
    # default covers the daemon's own failures, never a 4xx not listed
    with pytest.raises(ResponseError, match="answered 409"):
        doc.check("POST", "/things", 409, {}, {"status": 409}, PROBLEM)
    with pytest.raises(ResponseError, match="answered 500"):
        doc.check("GET", "/things/1", 500, {}, {"status": 500}, PROBLEM)


def test_a_missing_or_malformed_header_is_caught(doc):
    with pytest.raises(ResponseError, match="no Location header"):
        doc.check("POST", "/things", 201, {}, THING, JSON)
    with pytest.raises(ResponseError, match="no Retry-After header"):
        doc.check("POST", "/things", 429, {}, {"status": 429}, PROBLEM)
    with pytest.raises(ResponseError, match="not an integer"):
        doc.check("POST", "/things", 429, {"retry-after": "soon"}, {"status": 429}, PROBLEM)


def test_a_wrong_media_type_or_a_body_where_none_is_said_is_caught(doc):
    with pytest.raises(ResponseError, match="text/html"):
        doc.check("GET", "/things/1", 200, {}, "<p>", "text/html")
    with pytest.raises(ResponseError, match="no body"):
        Document({"paths": {"/x": {"get": {"responses": {"200": {"description": "-"}}}}}}
                 ).check("GET", "/x", 200, {}, "x", "text/plain")
    # a problem body against the problem schema
    with pytest.raises(ResponseError, match="'status' is a required property"):
        doc.check("GET", "/things/1", 404, {}, {"title": "x"}, PROBLEM)


def test_the_served_document_is_checked_against_itself(daemon):
    """The daemon's own document: its schemas compile, and its replies to
    these requests hold to it (Daemon.request checks every reply)."""
    status, body = daemon.request("GET", "/api/v1/openapi.json")
    assert status == 200
    doc = Document(body)
    jsonschema.Draft7Validator.check_schema(doc.root)
    # a reply that breaks the served document is caught too
    status, job = daemon.request("POST", "/api/v1/jobs", {
        "name": "probe", "command": ["true"], "schedule": {"cron": "0 0 1 1 *"}})
    assert status == 201, job
    del job["version"]
    with pytest.raises(ResponseError, match="'version' is a required property"):
        doc.check("GET", "/api/v1/jobs/default/probe", 200, {"ETag": '"1"'}, job, JSON)
