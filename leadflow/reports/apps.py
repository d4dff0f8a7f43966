from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "leadflow.reports"
    label = "reports"
    verbose_name = "Reports"

    def ready(self) -> None:
        # Connected after the stages app's audit receiver (the app comes later in
        # INSTALLED_APPS): the journey is refreshed from a history that already has the row.
        from . import receivers  # noqa: F401
