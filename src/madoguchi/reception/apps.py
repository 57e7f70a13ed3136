from django.apps import AppConfig


class ReceptionConfig(AppConfig):
    name = "madoguchi.reception"
    label = "reception"
    verbose_name = "待たない窓口（予約・発券・呼出）"
