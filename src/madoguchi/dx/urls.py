from django.urls import path

from madoguchi.dx import views

app_name = "dx"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
]
