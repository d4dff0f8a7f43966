from django.apps import AppConfig


class StagesConfig(AppConfig):
    name = "stages"
    verbose_name = "Lifecycle stages"

    def ready(self) -> None:
        from . import audit  # noqa: F401  (connects the transition audit receiver)
