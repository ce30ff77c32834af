"""The project's URLs plus a bare view: the peer every registry figure is compared against."""

from django.http import HttpResponse
from django.urls import include, path


def ping(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path("__bench__/ping", ping), path("", include("linli.urls"))]
