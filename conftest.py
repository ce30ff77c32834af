"""Shared fixtures: the test world (linli/testing/world.py) and clients signed in as each role."""

from __future__ import annotations

import socket

import pytest
from django.db.backends.signals import connection_created
from django.test import Client


def _allow_audit_purge(sender, connection, **kwargs):
    # The test runner flushes tables between transactional tests; production sessions never set this.
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SET linli.audit_purge = 'on'")


connection_created.connect(_allow_audit_purge)


@pytest.fixture(autouse=True)
def _no_internet(monkeypatch):
    """Tests never reach the internet: any connection outside loopback fails loudly."""
    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and not (
            host.startswith("127.") or host in ("localhost", "::1", "") or host.startswith("/")
        ):
            raise RuntimeError(f"test tried to reach {address!r}: tests stay on loopback")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(autouse=True)
def _fresh_actor_context():
    """Each test starts with no acting user in the audit context, as each request does."""
    from linli.core import context

    token = context.activate(context.ActorContext())
    yield
    context.deactivate(token)


@pytest.fixture(autouse=True)
def _site_language():
    """Each test starts in the site's language, as each request does: a request of an English-reading user
    leaves English active in the thread, which would otherwise reach the next test."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(scope="session")
def _world_keys(django_db_setup, django_db_blocker):
    """Build the test world once per session; each test runs in a transaction rolled back after it."""
    from linli.testing.world import build_world, world_keys

    with django_db_blocker.unblock():
        return world_keys(build_world())


@pytest.fixture
def world(db, _world_keys):
    from linli.testing.world import build_world, load_world

    # A transactional test may have flushed the database: then build the world again, inside this test.
    return load_world(_world_keys) or build_world()


@pytest.fixture
def client_for(world):
    """client_for("grid") -> a Client signed in as that world user."""

    def make(name: str) -> Client:
        c = Client()
        c.force_login(world.users[name])
        return c

    return make


@pytest.fixture
def empty_registry(db):
    """An empty registry for tests that load their own data (the session world is rolled back after)."""
    from linli.accounts.models import ApiToken, Assignment, BindingRequest, User
    from linli.cases.models import HandlingUnit, RoutingRule, WorkOrder
    from linli.people.models import EmergencyContact, Household, Occupancy, Organization, Resident
    from linli.places.models import Area, Building, Estate, Facility, House, Unit

    for model in (
        WorkOrder,
        RoutingRule,
        HandlingUnit,
        Occupancy,
        EmergencyContact,
        BindingRequest,
        Assignment,
        ApiToken,
        Resident,
        Household,
        House,
        Unit,
        Building,
        Estate,
        Organization,
        Facility,
        User,
    ):
        model.objects.all().delete()
    for level in ("grid", "community", "street", "district", "city"):
        Area.objects.filter(level=level).delete()


@pytest.fixture
def english_users(db):
    """For tests that assert English wording: every account reads the console in English."""
    from linli.accounts.models import User

    User.objects.update(language="en")
