from django.urls import path

from linli.accounts import views

app_name = "accounts"
urlpatterns: list = [
    path("users/", views.user_list, name="user-list"),
    path("users/new/", views.user_create, name="user-create"),
    path("users/<int:pk>/", views.user_detail, name="user-detail"),
    path("users/<int:pk>/assignments/", views.assignment_add, name="assignment-add"),
    path("assignments/<int:pk>/remove/", views.assignment_remove, name="assignment-remove"),
    path("users/<int:pk>/active/", views.user_set_active, name="user-set-active"),
    path("users/<int:pk>/unlock/", views.user_unlock, name="user-unlock"),
    path("users/<int:pk>/password/", views.user_reset_password, name="user-reset-password"),
    path("roles/", views.role_list, name="role-list"),
    path("roles/<int:pk>/edit/", views.role_edit, name="role-edit"),
    path("profile/", views.profile, name="profile"),
    path("audit/", views.audit_list, name="audit-list"),
    path("audit/verify/", views.audit_verify, name="audit-verify"),
]
