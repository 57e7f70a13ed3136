from django.urls import path

from madoguchi.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("life/<slug:slug>/", views.life_event, name="life_event"),
    path("procedures/<slug:code>/", views.procedure_detail, name="procedure"),
    path("procedures/<slug:code>/apply/", views.apply_start, name="apply"),
    path("drafts/<uuid:token>/step/<int:n>/", views.step, name="step"),
    path("drafts/<uuid:token>/review/", views.review, name="review"),
    path("drafts/<uuid:token>/submit/", views.submit, name="submit"),
    path("drafts/<uuid:token>/delete/", views.draft_delete, name="draft_delete"),
    path("my/", views.my, name="my"),
    path("my/applications/<int:pk>/", views.my_detail, name="my_detail"),
    path("my/applications/<int:pk>/receipt.pdf", views.my_receipt, name="my_receipt"),
    path("my/applications/<int:pk>/correction/", views.my_correction, name="my_correction"),
    path("my/applications/<int:pk>/withdraw/", views.my_withdraw, name="my_withdraw"),
    path("my/applications/<int:pk>/reservation/", views.my_reservation, name="my_reservation"),
    path("my/applications/<int:pk>/pay/", views.my_pay, name="my_pay"),
    path("my/applications/<int:pk>/documents/<int:doc>/", views.my_document, name="my_document"),
]
