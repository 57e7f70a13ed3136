from django.urls import path

from madoguchi.identity import views

app_name = "identity"
urlpatterns = [
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
]
