from django.urls import path

from madoguchi.payments import views

app_name = "payments"
urlpatterns = [
    path("start/<int:application_id>/", views.start, name="start"),
    path("demo/checkout/<str:token>/", views.demo_checkout, name="demo_checkout"),
    path("webhook/<str:plugin>/", views.webhook, name="webhook"),
    path("return/<int:pk>/", views.return_view, name="return"),
]
