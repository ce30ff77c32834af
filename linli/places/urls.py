from django.urls import path

from linli.places import views

app_name = "places"
urlpatterns = [
    path("areas/", views.area_list, name="area-list"),
    path("areas/<int:pk>/", views.area_detail, name="area-detail"),
    path("areas/<int:pk>/edit/", views.area_edit, name="area-edit"),
    path("areas/<int:parent_pk>/new/", views.area_create, name="area-create"),
    path("estates/", views.estate_list, name="estate-list"),
    path("estates/<int:pk>/", views.estate_detail, name="estate-detail"),
    path("facilities/", views.facility_list, name="facility-list"),
    path("buildings/new/", views.building_create, name="building-create"),
    path("buildings/<int:pk>/", views.building_detail, name="building-detail"),
    path("houses/", views.house_list, name="house-list"),
    path("houses/new/", views.house_create, name="house-create"),
    path("houses/<int:pk>/", views.house_detail, name="house-detail"),
    path("houses/<int:pk>/edit/", views.house_edit, name="house-edit"),
    path("map/", views.map_page, name="map"),
    path("map/data/", views.map_data, name="map-data"),
    path("m/", views.grid_mobile, name="grid-mobile"),
]
