from django.apps import AppConfig


class NurseryConfig(AppConfig):
    name = "madoguchi.nursery"
    label = "nursery"
    verbose_name = "保育所利用調整（入所選考）"
