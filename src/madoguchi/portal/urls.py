from django.urls import path

from madoguchi.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("my/", views.home, name="my"),
]
