from django.urls import path

from madoguchi.handoff import views

app_name = "handoff"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("files/<int:batch_id>/", views.batch_download, name="batch_download"),
    path("applications/<int:pk>/jobs/<int:job_id>/done/", views.job_done, name="job_done"),
    path("applications/<int:pk>/jobs/<int:job_id>/resend/", views.job_resend, name="job_resend"),
    path("applications/<int:pk>/enqueue/", views.enqueue, name="enqueue"),
]
