"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2) under /open311/v2/.

Every endpoint answers in .json and .xml, accepts jurisdiction_id (it must be ours when sent) and speaks
the language of the `locale` parameter, else the Accept-Language header, else Chinese. Errors use
GeoReport's error list with the HTTP status: 400 bad input, 403 bad api_key, 404 unknown
service, request, token or jurisdiction. Reading needs no key and shows only the public feed (feed.py);
POST requests needs an api_key (manage.py open311_client create).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import secrets
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import transaction
from django.db.models import Max
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from linli.api.security import language_from_header
from linli.cases import services
from linli.cases.models import Category, Channel, Open311Token, WorkOrder
from linli.cases.open311 import clients, definitions, feed, render
from linli.core import codes, context
from linli.places.models import Building, House

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
MAX_SPAN = dt.timedelta(days=90)
_ATTRIBUTE = re.compile(r"^attribute\[([^\]\[]{1,40})\](\[\])?$")


class Open311Error(Exception):
    def __init__(self, status: int, *descriptions: str) -> None:
        super().__init__(*descriptions)
        self.status, self.descriptions = status, descriptions


def _language(request: HttpRequest) -> str:
    locale = (request.GET.get("locale") or request.POST.get("locale") or "").strip().replace("_", "-").lower()
    if locale:
        try:
            return translation.get_supported_language_variant(locale)
        except LookupError:
            pass
    return language_from_header(request) or settings.LANGUAGE_CODE


def _param(request: HttpRequest, name: str) -> str:
    source = request.POST if request.method == "POST" else request.GET
    return (source.get(name) or "").strip()


def endpoint(*methods: str) -> Callable:
    """Format, language, jurisdiction, allowed methods and GeoReport errors around a view."""

    def decorate(view: Callable) -> Callable:
        @csrf_exempt
        @wraps(view)
        def wrapped(request: HttpRequest, fmt: str, **kwargs) -> HttpResponse:
            context.current().channel = "api"
            with translation.override(_language(request)):
                if request.method not in methods:
                    response = render.errors(fmt, 405, _("This method is not allowed here."))
                    response["Allow"] = ", ".join(methods)
                    return response
                try:
                    jurisdiction = _param(request, "jurisdiction_id")
                    if jurisdiction and jurisdiction != settings.OPEN311_JURISDICTION:
                        raise Open311Error(
                            404,
                            _("Unknown jurisdiction_id “%(sent)s”; this endpoint serves “%(ours)s”.")
                            % {"sent": jurisdiction[:60], "ours": settings.OPEN311_JURISDICTION},
                        )
                    return view(request, fmt, **kwargs)
                except Open311Error as exc:
                    return render.errors(fmt, exc.status, *exc.descriptions)
                except ValidationError as exc:
                    return render.errors(fmt, 400, *exc.messages)

        return wrapped

    return decorate


# ---------------------------------------------------------------- discovery and services


@endpoint("GET")
def discovery(request: HttpRequest, fmt: str) -> HttpResponse:
    changed = Category.objects.aggregate(last=Max("updated_at"))["last"]
    changeset = feed.w3c(changed) or "1970-01-01T00:00:00+00:00"
    body = {
        "changeset": changeset,
        "contact": getattr(settings, "OPEN311_CONTACT", "")
        or _("Ask the operator of this Linli installation (the street or district office)."),
        "key_service": _(
            "api_keys are issued by the administrator of this installation (manage.py open311_client create); "
            "each client application gets its own key."
        ),
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": request.build_absolute_uri("/open311/v2/"),
                "changeset": changeset,
                "type": "production" if settings.PRODUCTION else "test",
                "formats": [render.CONTENT_TYPES["xml"].split(";")[0], render.CONTENT_TYPES["json"].split(";")[0]],
            }
        ],
    }
    return render.respond(fmt, "discovery", body)


@endpoint("GET")
def service_list(request: HttpRequest, fmt: str) -> HttpResponse:
    words = definitions.keywords()
    body = [definitions.service_dict(c, words.get(c.pk, [])) for c in definitions.services()]
    return render.respond(fmt, "services", body)


def _service_or_404(code: str) -> Category:
    category = definitions.service(code)
    if category is None:
        raise Open311Error(404, _("There is no service with the code “%(code)s”.") % {"code": code[:20]})
    return category


@endpoint("GET")
def service_definition(request: HttpRequest, fmt: str, code: str) -> HttpResponse:
    return render.respond(fmt, "service_definition", definitions.definition_dict(_service_or_404(code)))


# ---------------------------------------------------------------- reading requests


def _w3c_param(request: HttpRequest, name: str) -> dt.datetime | None:
    raw = _param(request, name)
    if not raw:
        return None
    value: dt.datetime | None = None
    try:
        value = parse_datetime(raw.replace(" ", "+"))  # a '+' in a query string arrives as a space
        if value is None:
            day = parse_date(raw)
            value = dt.datetime.combine(day, dt.time()) if day else None
    except ValueError:
        value = None
    if value is None:
        raise Open311Error(
            400, _("%(name)s must be a W3C date-time such as 2025-10-01T08:00:00+08:00.") % {"name": name}
        )
    return timezone.make_aware(value) if timezone.is_naive(value) else value


def _list_param(request: HttpRequest, name: str) -> list[str]:
    values: list[str] = []
    for raw in (request.GET.getlist(name) if request.method == "GET" else []) or [""]:
        values += [v.strip() for v in raw.split(",") if v.strip()]
    return values


def _case_ids(numbers: list[str]) -> list[int]:
    ids = []
    for number in numbers:
        pk = WorkOrder.pk_from_number(number)
        if pk is None:
            raise Open311Error(400, _("“%(id)s” is not a service_request_id.") % {"id": number[:30]})
        ids.append(pk)
    return ids


def _rows(cases: list[WorkOrder], numbers: list[str] | None = None) -> list[dict]:
    if numbers is not None:  # the number carries the date: 20251001 + id must match both
        wanted = set(numbers)
        cases = [c for c in cases if c.number in wanted]
    rejected = feed.reject_notes(cases)
    return [feed.request_dict(c, rejected) for c in cases]


@endpoint("GET", "POST")
def requests(request: HttpRequest, fmt: str) -> HttpResponse:
    if request.method == "POST":
        return _create(request, fmt)
    qs = feed.public_requests()
    numbers = _list_param(request, "service_request_id")
    if numbers:  # overrides every other argument
        cases = list(qs.filter(pk__in=_case_ids(numbers)).order_by("-submitted_at", "-pk")[: feed.MAX_RESULTS])
        return render.respond(fmt, "service_requests", _rows(cases, numbers))
    codes = _list_param(request, "service_code")
    if codes:
        known = set(Category.objects.filter(code__in=codes, parent__isnull=False).values_list("code", flat=True))
        unknown = [c for c in codes if c not in known]
        if unknown:
            raise Open311Error(404, _("There is no service with the code “%(code)s”.") % {"code": unknown[0][:20]})
        qs = qs.filter(category__code__in=codes)
    statuses = set(_list_param(request, "status"))
    if statuses - {"open", "closed"}:
        raise Open311Error(400, _("status takes open, closed or both, separated by a comma."))
    qs = qs.filter(feed.status_filter(statuses))
    start, end = _w3c_param(request, "start_date"), _w3c_param(request, "end_date")
    if start and end and start > end:
        raise Open311Error(400, _("start_date must not be after end_date."))
    if start and end and end - start > MAX_SPAN:
        raise Open311Error(400, _("start_date and end_date may not span more than 90 days."))
    if end is None:
        end = start + MAX_SPAN if start else timezone.now()
    if start is None:
        start = end - MAX_SPAN
    qs = qs.filter(submitted_at__gte=start, submitted_at__lte=end)
    cases = list(qs.order_by("-submitted_at", "-pk")[: feed.MAX_RESULTS])
    return render.respond(fmt, "service_requests", _rows(cases))


@endpoint("GET")
def request_detail(request: HttpRequest, fmt: str, request_id: str) -> HttpResponse:
    pk = WorkOrder.pk_from_number(request_id)
    case = feed.public_requests().filter(pk=pk).first() if pk is not None else None
    if case is None or case.number != request_id:
        raise Open311Error(404, _("There is no public service request “%(id)s”.") % {"id": request_id[:30]})
    return render.respond(fmt, "service_requests", _rows([case]))


@endpoint("GET")
def token_detail(request: HttpRequest, fmt: str, token: str) -> HttpResponse:
    found = Open311Token.objects.select_related("work_order").filter(token=token).first()
    if found is None:
        raise Open311Error(404, _("Unknown token."))
    number = found.work_order.number if found.work_order else None
    return render.respond(fmt, "service_requests", [{"service_request_id": number, "token": found.token}])


# ---------------------------------------------------------------- creating a request


def _float(request: HttpRequest, name: str, bound: float) -> float | None:
    raw = _param(request, name)
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or abs(value) > bound:
        raise Open311Error(400, _("%(name)s must be a number between -%(n)s and %(n)s.") % {"name": name, "n": bound})
    return value


def _house(code: str) -> House:
    house = House.objects.select_related("building", "grid").filter(code=code).first()
    if house is None:
        raise Open311Error(400, _("No house has the code %(code)s. Check the door plate.") % {"code": code})
    return house


def _location(request: HttpRequest, attributes: dict[str, str]) -> services.Location:
    """address_id or attribute[house_code] (a house), else lat & long (WGS-84), else address_string."""
    address_id = _param(request, "address_id")
    address = _param(request, "address_string")[:200]
    lat, lng = _float(request, "lat", 90), _float(request, "long", 180)
    if address_id:
        code = codes.compact_code(address_id)
        if len(code) != 24 or not code.isdigit():
            raise Open311Error(
                400, _("address_id is a house code: its building code plus 2 unit and 4 room digits (24 digits).")
            )
        return services.locate_house(_house(code))
    if attributes.get("house_code"):
        return services.locate_house(_house(attributes["house_code"]))
    if (lat is None) != (lng is None):
        raise Open311Error(400, _("Send both lat and long."))
    if lat is not None and lng is not None:
        return services.locate_point(lng, lat, address=address)
    if address:
        buildings = list(Building.objects.select_related("grid").filter(address=address)[:2])
        if len(buildings) == 1:
            b = buildings[0]
            return services.Location(area=b.grid, lat=b.lat, lng=b.lng, address=address, estate_id=b.estate_id)
        raise Open311Error(
            400,
            _("This address_string could not be placed. Send lat and long (WGS-84), or the house code as address_id."),
        )
    raise Open311Error(
        400, _("Say where it is: send lat and long (WGS-84), address_string, or the house code as address_id.")
    )


def _raw_attributes(request: HttpRequest) -> dict[str, list[str]]:
    raw: dict[str, list[str]] = {}
    for key in request.POST:
        match = _ATTRIBUTE.match(key)
        if match:
            raw.setdefault(match.group(1), []).extend(request.POST.getlist(key))
        elif key.startswith("attribute"):
            raise Open311Error(400, _("Send attributes as attribute[code]=value."))
    return raw


def _caller_name(first: str, last: str) -> str:
    if re.search(r"[\u4e00-\u9fff]", first + last):
        return f"{last}{first}"
    return f"{first} {last}".strip()


def _contact(request: HttpRequest, anonymous: bool) -> tuple[str, str, str]:
    """(caller name, phone, account_id) after checking them; email and device_id are checked, not kept."""
    problems = []
    email = _param(request, "email")
    if email:
        try:
            validate_email(email)
        except ValidationError:
            problems.append(_("Enter a valid email address."))
    account_id = _param(request, "account_id")
    if len(account_id) > 60:
        problems.append(_("account_id takes at most 60 characters."))
    name = _caller_name(_param(request, "first_name"), _param(request, "last_name"))
    if len(name) > 50:
        problems.append(_("first_name and last_name together take at most 50 characters."))
    if problems:
        raise Open311Error(400, *problems)
    if anonymous:
        return "", "", account_id
    return name, _param(request, "phone"), account_id


def _media_url(request: HttpRequest) -> str:
    url = _param(request, "media_url")
    if not url:
        return ""
    try:
        if len(url) > 500:
            raise ValidationError("too long")
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise Open311Error(400, _("media_url must be an http or https address of at most 500 characters.")) from None
    return url


def _create(request: HttpRequest, fmt: str) -> HttpResponse:
    client = clients.authenticate(request.POST.get("api_key", ""))
    if client is None:
        raise Open311Error(403, _("The api_key is missing, unknown or disabled."))
    code = _param(request, "service_code")
    if not code:
        raise Open311Error(400, _("service_code is required."))
    category = _service_or_404(code)
    attributes, problems = definitions.clean_attributes(category.code, _raw_attributes(request))
    if problems:
        raise Open311Error(400, *problems)
    location = _location(request, attributes)
    anonymous = attributes.get("anonymous") == "yes"
    name, phone, account_id = _contact(request, anonymous)
    media_url = _media_url(request)
    description = _param(request, "description") or category.name_zh
    token = secrets.token_hex(16)
    with transaction.atomic():
        case = services.create_case(
            None,
            services.Report(
                title=description[:30],
                description=description,
                channel=Channel.OPEN311,
                location=location,
                category=category,
                priority=definitions.priority_from(category.code, attributes),
                anonymous=anonymous,
                caller_name=name,
                caller_phone=phone,
                external_ref=f"open311:{client.pk}:{account_id}" if account_id else f"open311:{client.pk}",
                open311_client=client,
            ),
        )
        if media_url:
            note = _("Media link sent by the Open311 client (not downloaded): %(url)s") % {"url": media_url}
            services.act(None, case.pk, "comment", note=note)
        Open311Token.objects.create(token=token, work_order=case)
    body = [
        {
            "service_request_id": case.number,
            "service_notice": feed.service_notice(case),
            "account_id": account_id or None,
        }
    ]
    response = render.respond(fmt, "service_requests", body, status=201)
    response["X-Open311-Token"] = token
    return response


def not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    fmt = "xml" if rest.endswith(".xml") else "json"
    with translation.override(_language(request)):
        return render.errors(fmt, 404, _("There is no such Open311 resource. Start at discovery.json."))
