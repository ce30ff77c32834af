from django.urls import path

from linli.notifications import views

app_name = "notifications"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("count/", views.count, name="count"),
    path("read/", views.mark_all_read, name="read-all"),
    path("<int:pk>/read/", views.mark_read, name="read"),
    path("<int:pk>/go/", views.go, name="go"),
]
