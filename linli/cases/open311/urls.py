"""Open311 GeoReport v2, mounted at /open311/v2/ (see views.py)."""

from django.urls import re_path

from linli.cases.open311 import views

app_name = "open311"

FMT = r"\.(?P<fmt>json|xml)$"

urlpatterns = [
    re_path(r"^discovery" + FMT, views.discovery, name="discovery"),
    re_path(r"^services" + FMT, views.service_list, name="services"),
    re_path(r"^services/(?P<code>[^/]{1,20})" + FMT, views.service_definition, name="service"),
    re_path(r"^requests" + FMT, views.requests, name="requests"),
    re_path(r"^requests/(?P<request_id>[^/]{1,30})" + FMT, views.request_detail, name="request"),
    re_path(r"^tokens/(?P<token>[^/]{1,40})" + FMT, views.token_detail, name="token"),
    re_path(r"^(?P<rest>.*)$", views.not_found),
]
