"""Work-order pages: config. See linli/cases/views/__init__.py."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
