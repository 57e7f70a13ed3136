from django.apps import AppConfig


class DxConfig(AppConfig):
    """DX推進ダッシュボード (issue 7): KPIs from live data, PDCA and the OODA log."""

    name = "madoguchi.dx"
    verbose_name = "DX推進"
