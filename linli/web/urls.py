from django.contrib.auth import views as auth_views
from django.urls import path

from linli.web import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("prefs/language/", views.set_language, name="set-language"),
    path("prefs/elder-mode/", views.toggle_elder_mode, name="toggle-elder-mode"),
]
