"""The OpenAPI document agrees with botocore's model, operation by operation and member by member,
and is valid OpenAPI 3.1; the reference page renders it from vendored files."""

from __future__ import annotations

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse
from openapi_spec_validator import validate

from api.service_model import service_model


@pytest.fixture
def document(client):
    response = client.get("/api/appflow/openapi.json")  # no session, no signature: it is public
    assert response.status_code == 200
    return response.json()


def test_it_is_valid_openapi_3_1(document):
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_every_operation_and_member_matches_the_model(document):
    model = service_model()
    operations = {entry["operationId"]: (path, method, entry)
                  for path, methods in document["paths"].items() for method, entry in methods.items()}
    assert set(operations) == set(model.operation_names)
    schemas = document["components"]["schemas"]
    for name in model.operation_names:
        operation = model.operation_model(name)
        path, method, entry = operations[name]
        assert (path, method.upper()) == (operation.http["requestUri"].split("?")[0], operation.http["method"])
        members = operation.input_shape.members if operation.input_shape else {}
        in_body = {m for m, shape in members.items() if "location" not in shape.serialization}
        if in_body:
            schema = schemas[entry["requestBody"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]]
            assert set(schema["properties"]) == in_body
        located = {p["name"] for p in entry.get("parameters", [])}
        assert located == {shape.serialization.get("name", m) for m, shape in members.items()
                           if "location" in shape.serialization}
        if operation.output_shape is not None:
            output = schemas[operation.output_shape.name]
            assert set(output["properties"]) == set(operation.output_shape.members)
        assert {e.name for e in operation.error_shapes} <= {
            n for r in entry["responses"].values() for n in r["description"].split(" (")[0].split(", ")}


@pytest.mark.django_db
def test_the_reference_page_uses_vendored_swagger_ui(signed_in):
    page = signed_in.get(reverse("api-reference")).content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "https://" not in page.split("<main", 1)[-1]
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert finders.find("api/reference.js")
