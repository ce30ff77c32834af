from django.urls import include, path

from linli.people import views

app_name = "people"
urlpatterns: list = [
    path("io/", include("linli.people.urls_spreadsheets")),
]
