from django.urls import path

from madoguchi.nursery import views

app_name = "nursery"
urlpatterns = [
    path("", views.index, name="index"),
    path("runs/<int:pk>/", views.run, name="run"),
    path("runs/<int:pk>/status/", views.run_status, name="run_status"),
    path("runs/<int:pk>/result.<str:fmt>", views.export, name="export"),
    path("runs/<int:pk>/notice.pdf", views.notices, name="notice"),
]
