"""Spreadsheet import and export, under people/io/ in the "people" namespace."""

from django.urls import path

from linli.people import views_spreadsheets as views

urlpatterns: list = [
    path("", views.io_index, name="io"),
    path("templates/residents.xlsx", views.template_residents, name="io-template-residents"),
    path("templates/houses.xlsx", views.template_houses, name="io-template-houses"),
    path("import/residents/", views.import_residents, name="io-import-residents"),
    path("import/houses/", views.import_houses, name="io-import-houses"),
    path("export/residents/", views.export_residents, name="io-export-residents"),
    path("export/houses/", views.export_houses, name="io-export-houses"),
]
