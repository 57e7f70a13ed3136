from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "madoguchi.demo"
    label = "demo"
    verbose_name = "デモデータ"
