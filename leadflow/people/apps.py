from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "leadflow.people"
    label = "people"
    verbose_name = "People"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from .roles import roles_ensure

        # Permissions exist only after migrate has run, so the role groups follow them there.
        post_migrate.connect(roles_ensure, sender=self)
