"""Build the /api/v1/ OpenAPI schema and validate it against the OpenAPI specification (make lint)."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder
from django.urls import reverse
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError


class Command(BaseCommand):
    help = "Build the API's OpenAPI schema and validate it; exit 1 naming the first error."

    def add_arguments(self, parser):
        parser.add_argument("--print", action="store_true", help="Also print the schema as JSON.")

    def handle(self, *args, **options):
        from linli.api.main import api

        prefix = reverse("api:openapi-json").removesuffix("openapi.json")
        try:
            # through JSON, as clients receive it (lazy translations become plain strings)
            schema = json.loads(json.dumps(api.get_openapi_schema(path_prefix=prefix), cls=DjangoJSONEncoder))
        except Exception as exc:  # noqa: BLE001 - any failure to build the schema is the error to report
            raise CommandError(f"Could not build the OpenAPI schema: {exc}") from exc
        try:
            validate(schema)
        except OpenAPIValidationError as exc:
            raise CommandError(f"The OpenAPI schema is not valid: {exc.message} (at {list(exc.path)})") from exc
        if options["print"]:
            self.stdout.write(json.dumps(schema, ensure_ascii=False, indent=2))
        self.stdout.write(self.style.SUCCESS(f"OpenAPI {schema.get('openapi')}: {len(schema['paths'])} paths valid."))
