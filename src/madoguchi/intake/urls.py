from django.urls import path

from madoguchi.intake import views

app_name = "intake"
urlpatterns = [
    path("quarantine/", views.quarantine, name="quarantine"),
    path("quarantine/<int:pk>/reimport/", views.reimport, name="reimport"),
]
