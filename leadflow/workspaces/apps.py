from django.apps import AppConfig


class WorkspacesConfig(AppConfig):
    name = "leadflow.workspaces"
    label = "workspaces"
    verbose_name = "Workspaces"
