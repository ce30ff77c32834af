"""Public facilities: listed within scope, filtered by kind."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_facilities_follow_scope(world, client_for):
    url = reverse("places:facility-list")
    body = client_for("community").get(url).content.decode()
    assert "新华里社区养老驿站" in body and "开封道健身广场" not in body
    body = client_for("grid_b").get(url).content.decode()
    assert "开封道健身广场" in body and "新华里社区养老驿站" not in body
    assert "新华里社区养老驿站" in client_for("admin").get(url).content.decode()
    assert client_for("nobody").get(url).status_code == 403


def test_filter_by_kind(world, client_for):
    url = reverse("places:facility-list")
    c = client_for("street")
    assert "新华里社区养老驿站" in c.get(url, {"kind": "elderly"}).content.decode()
    assert "新华里社区养老驿站" not in c.get(url, {"kind": "park"}).content.decode()
    assert c.get(url, {"kind": "no-such-kind"}).status_code == 200
