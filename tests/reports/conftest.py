from __future__ import annotations

import pytest


@pytest.fixture
def ae2(make_user):
    return make_user("ae2", "ae")


@pytest.fixture
def team(marketer, sdr, other_sdr, ae, ae2, admin_user):
    return {
        "marketer": marketer,
        "sdr": sdr,
        "other_sdr": other_sdr,
        "ae": ae,
        "ae2": ae2,
        "admin": admin_user,
    }
