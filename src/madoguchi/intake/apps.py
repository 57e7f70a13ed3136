from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "madoguchi.intake"
    label = "intake"
    verbose_name = "申請データの取り込み (ぴったりサービス)"
