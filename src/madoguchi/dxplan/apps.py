from django.apps import AppConfig


class DxPlanConfig(AppConfig):
    """DX推進計画 (issue 7): the 工程表, the 標準化移行 tracker and マイナンバーカード交付率."""

    name = "madoguchi.dxplan"
    verbose_name = "DX推進計画"
