from django.contrib.auth import views as auth_views
from django.urls import path

from madoguchi.staff import views

app_name = "staff"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="staff:login"), name="logout"),
    path("", views.inbox, name="inbox"),
    path("export.csv", views.export_csv, name="export_csv"),
    path("applications/<int:pk>/", views.detail, name="detail"),
    path("applications/<int:pk>/form.pdf", views.form_pdf, name="form_pdf"),
    path("applications/<int:pk>/transition/", views.transition, name="transition"),
    path("applications/<int:pk>/correction/", views.correction, name="correction"),
    path("applications/<int:pk>/assign/", views.assign, name="assign"),
    path("applications/<int:pk>/comment/", views.comment, name="comment"),
    path("applications/<int:pk>/mynumber/", views.reveal_mynumber, name="mynumber"),
    path("applications/<int:pk>/message/", views.resident_message, name="resident_message"),
    path("applications/<int:pk>/document/", views.issue_document, name="issue_document"),
    path("applications/<int:pk>/attachments/<int:attachment_id>/", views.attachment, name="attachment"),
]
