from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "madoguchi.identity"
    label = "identity"
    verbose_name = "本人確認・電子署名"
