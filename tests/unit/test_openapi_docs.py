"""The OpenAPI documents of the simulated systems (docs/openapi/*.yaml) match the code.

- each document is YAML, OpenAPI 3.1, and every ``$ref`` in it resolves;
- its (method, path) set equals the routes registered in the simulator's aiohttp app;
- the record schemas have exactly the fields the simulator serves (and the nested objects of a
  dossier too), and every record of a sample world validates against its schema;
- real answers of running servers (pages, 401, 400, 429 with Retry-After, 503, /health) validate
  against the documented responses.

Schema validation uses ``jsonschema`` when it is installed (it is, through the lock file's other
packages); the structural checks run without it.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from govkpi.simulator import dvc, eoffice, mess, onestop
from govkpi.simulator.serving import BackgroundServer, Faults
from govkpi.simulator.world import generate_world

DOCS = Path(__file__).resolve().parents[2] / "docs" / "openapi"
SYSTEMS = {  # document → (module serving it, server URL)
    "onestop": (onestop, "http://127.0.0.1:8801"),
    "eoffice": (eoffice, "http://127.0.0.1:8802"),
    "dvc": (dvc, "http://127.0.0.1:8803"),
}
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
SAMPLE_YEARS = tuple(range(2016, 2024))  # spans the 2022 level reform, VNeID, payments


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((DOCS / f"{name}.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def docs() -> dict[str, dict[str, Any]]:
    return {name: load(name) for name in SYSTEMS}


@pytest.fixture(scope="module")
def tiny_world():
    return generate_world(seed=1, dossiers=50)


@pytest.fixture(scope="module")
def sample():
    """A world large enough that every record type and most optional states occur."""
    world = generate_world(seed=1, dossiers=600, years=SAMPLE_YEARS)
    return {
        "world": world,
        "eoffice": eoffice.build_eoffice_world(world, 1),
        "dvc": dvc.build_dvc_world(world, 1),
    }


def records_by_schema(sample) -> dict[tuple[str, str], list[dict[str, Any]]]:
    world, documents, portal = sample["world"], sample["eoffice"], sample["dvc"]
    dossiers = world.dossiers_as_of()
    return {
        ("onestop", "Unit"): world.units_as_of(),
        ("onestop", "Procedure"): world.procedures_as_of(),
        ("onestop", "Dossier"): dossiers,
        ("onestop", "ApologyLetter"): [a for d in dossiers for a in d["PhieuXinLoi"]],
        ("onestop", "ProcessingStep"): [s for d in dossiers for s in d["QuaTrinhXuLy"]],
        ("eoffice", "Document"): documents.documents_as_of(),
        ("dvc", "Service"): portal.services_as_of(),
        ("dvc", "Submission"): portal.submissions_as_of(),
        ("dvc", "Payment"): portal.payments_as_of(),
        ("dvc", "Rating"): portal.ratings_as_of(),
    }


# keys the --mess "missing" kind drops from a record (the documents do not require them)
MAY_BE_ABSENT = {
    ("onestop", "Dossier"): set(mess.ONESTOP_MISSING),
    ("eoffice", "Document"): set(mess.EOFFICE_MISSING),
    ("dvc", "Payment"): set(mess.DVC_MISSING["/api/payments"]),
    ("dvc", "Rating"): set(mess.DVC_MISSING["/api/ratings"]),
}
assert set(mess.DVC_MISSING) == {"/api/payments", "/api/ratings"}, "document the new ones"

RECORD_SCHEMAS = [("onestop", "Unit"), ("onestop", "Procedure"), ("onestop", "Dossier"),
                  ("onestop", "ApologyLetter"), ("onestop", "ProcessingStep"),
                  ("eoffice", "Document"), ("dvc", "Service"), ("dvc", "Submission"),
                  ("dvc", "Payment"), ("dvc", "Rating")]


def resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"only local references are used: {ref}"
    node: Any = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict), f"$ref {ref} does not resolve"
        assert part in node, f"$ref {ref} does not resolve"
        node = node[part]
    return node


def refs(node: Any):
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def validator(doc: dict[str, Any], schema: dict[str, Any]):
    """A Draft 2020-12 validator of ``schema`` whose $refs point into ``doc``."""
    jsonschema = pytest.importorskip("jsonschema")
    referencing = pytest.importorskip("referencing")
    from referencing.jsonschema import DRAFT202012

    uri = "urn:govkpi:openapi"
    registry = referencing.Registry().with_resource(
        uri, referencing.Resource.from_contents(doc, default_specification=DRAFT202012))
    rooted = json.loads(json.dumps(schema).replace('"#/', f'"{uri}#/'))
    return jsonschema.Draft202012Validator(rooted, registry=registry)


def assert_valid(doc: dict[str, Any], schema: dict[str, Any], instance: Any, what: str) -> None:
    errors = sorted(validator(doc, schema).iter_errors(instance), key=lambda e: list(e.path))
    assert not errors, f"{what}: " + "; ".join(
        f"{'/'.join(map(str, e.path)) or '<root>'}: {e.message}" for e in errors[:5])


# ------------------------------------------------------------------------------ the documents


@pytest.mark.parametrize("name", SYSTEMS)
def test_document_is_openapi_3_1_with_its_server(docs, name):
    doc = docs[name]
    assert re.fullmatch(r"3\.1\.\d+", str(doc["openapi"]))
    assert doc["info"]["title"]
    assert doc["info"]["version"]
    assert [s["url"] for s in doc["servers"]] == [SYSTEMS[name][1]]
    assert doc["components"]["securitySchemes"]
    for ref in refs(doc):
        resolve(doc, ref)


def test_security_schemes_are_the_vendors(docs):
    oauth = docs["onestop"]["components"]["securitySchemes"]["oauth2ClientCredentials"]
    assert oauth["type"] == "oauth2"
    assert oauth["flows"]["clientCredentials"]["tokenUrl"] == "/oauth/token"
    key = docs["eoffice"]["components"]["securitySchemes"]["apiKey"]
    assert (key["type"], key["in"], key["name"]) == ("apiKey", "header", "X-API-Key")
    basic = docs["dvc"]["components"]["securitySchemes"]["basicAuth"]
    assert (basic["type"], basic["scheme"]) == ("http", "basic")


@pytest.mark.parametrize("name", SYSTEMS)
def test_documented_operations_are_the_registered_routes(docs, tiny_world, name):
    module = SYSTEMS[name][0]
    app = module.create_app(tiny_world)
    registered = {(route.method, route.resource.canonical) for route in app.router.routes()
                  if route.method != "HEAD"}
    documented = {(method.upper(), path) for path, item in docs[name]["paths"].items()
                  for method in item if method in HTTP_METHODS}
    assert documented == registered


@pytest.mark.parametrize("name", SYSTEMS)
def test_every_api_operation_documents_its_errors(docs, name):
    for path, item in docs[name]["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            codes = set(operation["responses"])
            assert "200" in codes, (method, path)
            if path.startswith("/api/"):
                assert {"400", "401", "429", "503"} <= codes, (method, path)
                too_many = operation["responses"]["429"]
                if "$ref" in too_many:
                    too_many = resolve(docs[name], too_many["$ref"])
                assert "Retry-After" in too_many["headers"], (method, path)


def test_paging_parameters_and_their_limits(docs):
    def params(name: str, path: str) -> dict[str, dict[str, Any]]:
        doc = docs[name]
        out = {}
        for p in doc["paths"][path]["get"]["parameters"]:
            p = resolve(doc, p["$ref"]) if "$ref" in p else p
            schema = resolve(doc, p["schema"]["$ref"]) if "$ref" in p["schema"] else p["schema"]
            out[p["name"]] = schema
        return out

    for path in onestop.ENDPOINTS:
        p = params("onestop", path)
        assert set(p) == {"page", "size", "updated_from", "updated_to"}
        assert (p["size"]["maximum"], p["size"]["default"]) == (
            onestop.MAX_PAGE_SIZE, onestop.DEFAULT_PAGE_SIZE)
    p = params("eoffice", "/api/v2/documents")
    assert set(p) == {"limit", "cursor", "modified_since"}
    assert (p["limit"]["maximum"], p["limit"]["default"]) == (eoffice.MAX_LIMIT,
                                                              eoffice.DEFAULT_LIMIT)
    for path in dvc.ENDPOINTS:
        p = params("dvc", path)
        assert set(p) == {"offset", "limit", "since"}
        assert (p["limit"]["maximum"], p["limit"]["default"]) == (
            dvc.MAX_PAGE_SIZE, dvc.DEFAULT_PAGE_SIZE)
        assert "Link" in docs["dvc"]["paths"][path]["get"]["responses"]["200"]["headers"]


# ------------------------------------------------------------------------------ the records


@pytest.mark.parametrize(("name", "schema_name"), RECORD_SCHEMAS)
def test_schema_fields_are_the_served_fields(docs, sample, name, schema_name):
    schema = docs[name]["components"]["schemas"][schema_name]
    records = records_by_schema(sample)[name, schema_name]
    assert records, f"the sample world serves no {schema_name}"
    properties = set(schema["properties"])
    # every field is always present (maybe null), except those a vendor may leave out
    assert set(schema["required"]) == properties - MAY_BE_ABSENT.get((name, schema_name), set())
    served = set().union(*(r.keys() for r in records))
    assert properties == served, (f"documented only: {sorted(properties - served)}; "
                                  f"served only: {sorted(served - properties)}")
    assert all(set(r) == properties for r in records)


@pytest.mark.parametrize(("name", "schema_name"), RECORD_SCHEMAS)
def test_every_sample_record_validates(docs, sample, name, schema_name):
    doc = docs[name]
    check = validator(doc, {"$ref": f"#/components/schemas/{schema_name}"})
    for record in records_by_schema(sample)[name, schema_name]:
        errors = list(check.iter_errors(record))
        assert not errors, f"{schema_name} {record}: {errors[0].message}"


def test_the_module_field_lists_are_the_documented_ones(docs):
    from govkpi.simulator.world import DOSSIER_FIELDS, PROCEDURE_FIELDS, UNIT_FIELDS

    schemas = docs["onestop"]["components"]["schemas"]
    assert list(schemas["Unit"]["properties"]) == list(UNIT_FIELDS)
    assert list(schemas["Procedure"]["properties"]) == list(PROCEDURE_FIELDS)
    assert list(schemas["Dossier"]["properties"]) == list(DOSSIER_FIELDS)
    document = docs["eoffice"]["components"]["schemas"]["Document"]
    assert list(document["properties"]) == list(eoffice.DOCUMENT_FIELDS)


def test_status_enums_are_the_simulators(docs, sample):
    one = docs["onestop"]["components"]["schemas"]
    assert one["TrangThaiHoSo"]["enum"] == list(range(1, 9))
    portal = docs["dvc"]["components"]["schemas"]
    assert portal["Submission"]["properties"]["status"]["enum"] == list(dvc.SUBMISSION_STATUSES)
    assert portal["Submission"]["properties"]["account_type"]["enum"] == list(dvc.ACCOUNT_TYPES)
    assert portal["Payment"]["properties"]["status"]["enum"] == list(dvc.PAYMENT_STATUSES)
    document = docs["eoffice"]["components"]["schemas"]["Document"]["properties"]
    assert set(document["trang_thai"]["enum"]) == {
        eoffice.NEW, eoffice.AWAITING_SIGNATURE, eoffice.SIGNED, eoffice.ISSUED,
        eoffice.IN_PROGRESS, eoffice.PROCESSED}
    assert document["do_khan"]["enum"] == [u for u, _ in eoffice.URGENCY]


# ------------------------------------------------------------------------------ live answers


def fetch(url: str, headers: dict[str, str] | None = None, data: bytes | None = None
          ) -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, dict(answer.headers), json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def response_schema(doc: dict[str, Any], path: str, method: str, status: str
                    ) -> tuple[dict[str, Any], dict[str, Any]]:
    """(schema of the JSON body, headers) documented for one answer."""
    response = doc["paths"][path][method]["responses"][status]
    if "$ref" in response:
        response = resolve(doc, response["$ref"])
    return response["content"]["application/json"]["schema"], response.get("headers", {})


def credentials(name: str, base: str) -> dict[str, str]:
    if name == "onestop":
        form = (f"grant_type=client_credentials&client_id={onestop.DEFAULT_CLIENT_ID}"
                f"&client_secret={onestop.DEFAULT_CLIENT_SECRET}").encode()
        status, _, body = fetch(base + "/oauth/token", data=form)
        assert status == 200
        return {"Authorization": f"Bearer {body['access_token']}"}
    if name == "eoffice":
        return {"X-API-Key": eoffice.DEFAULT_API_KEY}
    pair = f"{dvc.DEFAULT_USERNAME}:{dvc.DEFAULT_PASSWORD}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


@pytest.fixture(scope="module")
def servers(sample):
    running = {name: BackgroundServer(module.create_app(sample["world"])).start()
               for name, (module, _) in SYSTEMS.items()}
    yield {name: server.url for name, server in running.items()}
    for server in running.values():
        server.stop()


@pytest.mark.parametrize("name", SYSTEMS)
def test_live_answers_match_the_documented_responses(docs, servers, name):
    doc, base = docs[name], servers[name]
    auth = credentials(name, base)
    if name == "onestop":
        status, _, body = fetch(base + "/oauth/token", data=b"grant_type=client_credentials")
        assert status == 401
        assert_valid(doc, response_schema(doc, "/oauth/token", "post", "401")[0], body, "token")
        status, _, body = fetch(base + "/oauth/token", data=(
            f"grant_type=client_credentials&client_id={onestop.DEFAULT_CLIENT_ID}&client_secret="
            f"{onestop.DEFAULT_CLIENT_SECRET}").encode())
        assert_valid(doc, response_schema(doc, "/oauth/token", "post", "200")[0], body, "token")
    for path, item in doc["paths"].items():
        if "get" not in item:
            continue
        schema, headers = response_schema(doc, path, "get", "200")
        status, got_headers, body = fetch(base + path + "?" + (
            "limit=3" if name != "onestop" else "size=3"), auth)
        assert status == 200, (path, body)
        assert_valid(doc, schema, body, f"GET {path}")
        if "Link" in headers:
            link = headers["Link"]
            link = resolve(doc, link["$ref"]) if "$ref" in link else link
            assert re.fullmatch(link["schema"]["pattern"], got_headers["Link"])
        if not path.startswith("/api/"):
            continue
        status, got_headers, body = fetch(base + path)
        assert status == 401
        assert_valid(doc, response_schema(doc, path, "get", "401")[0], body, f"401 {path}")
        status, _, body = fetch(base + path + "?size=0&limit=0", auth)
        assert status == 400
        assert_valid(doc, response_schema(doc, path, "get", "400")[0], body, f"400 {path}")


@pytest.mark.parametrize("name", SYSTEMS)
@pytest.mark.parametrize(("fault", "status"), [("429=1", "429"), ("5xx=1", "503")])
def test_injected_faults_match_the_documented_responses(docs, tiny_world, name, fault, status):
    doc, module = docs[name], SYSTEMS[name][0]
    faults = Faults.parse(f"{fault},retry-after=2", seed=1)
    path = next(p for p in doc["paths"] if p.startswith("/api/") and "get" in doc["paths"][p])
    with BackgroundServer(module.create_app(tiny_world, faults=faults)) as server:
        got, headers, body = fetch(server.url + path, credentials(name, server.url))
    assert str(got) == status
    schema, documented_headers = response_schema(doc, path, "get", status)
    assert_valid(doc, schema, body, f"{status} {path}")
    if status == "429":
        assert "Retry-After" in documented_headers
        assert headers["Retry-After"] == "2"
