from django.urls import path

from madoguchi.identity import views

app_name = "identity"
urlpatterns = [
    path("login/", views.login, name="login"),
    path("login/email/", views.password_login, name="password"),
    path("signup/", views.signup, name="signup"),
    path("jpki/", views.jpki, name="jpki"),
    path("demo/", views.demo, name="demo"),
    path("logout/", views.logout, name="logout"),
]
