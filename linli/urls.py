from django.urls import include, path

urlpatterns = [
    path("", include("linli.web.urls")),
    path("accounts/", include("linli.accounts.urls")),
    path("places/", include("linli.places.urls")),
    path("people/", include("linli.people.urls")),
    path("api/v1/", include("linli.api.urls")),
]
