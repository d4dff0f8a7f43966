"""Fixtures for the pages: a logged-in client per role, and plain static files."""

from __future__ import annotations

import pytest
from django.test import Client


@pytest.fixture
def client_for():
    """A test client logged in as `user`."""

    def make(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make
