from django.apps import AppConfig


class ReceptionConfig(AppConfig):
    name = "madoguchi.reception"
    label = "reception"
    verbose_name = "待たない窓口（予約・発券・呼出）"

    def ready(self) -> None:
        from madoguchi.reception import gateways  # noqa: F401  (registers the ``counter`` payment plugin)
