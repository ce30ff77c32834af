from django.urls import include, path

urlpatterns = [
    path("", include("linli.web.urls")),
    path("accounts/", include("linli.accounts.urls")),
    path("places/", include("linli.places.urls")),
    path("people/", include("linli.people.urls")),
    path("cases/", include("linli.cases.urls")),
    path("inbox/", include("linli.notifications.urls")),
    path("dispatch/", include("linli.dispatch.urls_shifts")),
    path("dispatch/", include("linli.dispatch.urls")),
    path("open311/v2/", include("linli.cases.open311.urls")),
    path("api/v1/", include("linli.api.urls")),
    path("devices/", include("linli.iot.urls")),
]
