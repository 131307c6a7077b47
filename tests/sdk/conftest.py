"""Fixtures of the SDK suite: a running Colabel (COLABEL_URL, started by tests/api/sdk.rs),
people who sign up and create API keys through the HTML pages as a browser would, and the
unmodified `segments-ai` client pointed at Colabel."""

import os
import re
import uuid

import pytest
import requests
from segments import SegmentsClient

PASSWORD = "correct horse battery"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
NEW_KEY = re.compile(r'<code id="new-key">([A-Za-z0-9_-]+)</code>')


@pytest.fixture(scope="session")
def base():
    url = os.environ.get("COLABEL_URL")
    if not url:
        pytest.fail("COLABEL_URL is not set: run this suite through `cargo test --test api sdk`")
    return url.rstrip("/") + "/"


class Person:
    """Someone with a browser session on Colabel, who can make API keys."""

    def __init__(self, base, username):
        self.base = base
        self.username = username
        self.web = requests.Session()
        self.signed_in = False

    def _token(self):
        # The session's CSRF token, from a page with a form (it changes at sign-up).
        page = self.web.get(self.base + ("settings" if self.signed_in else "signup"))
        page.raise_for_status()
        return TOKEN.search(page.text).group(1)

    def post(self, path, fields, expect=(303,)):
        fields = dict(fields, csrf_token=self._token())
        res = self.web.post(self.base + path.lstrip("/"), data=fields, allow_redirects=False)
        assert res.status_code in expect, f"POST {path}: {res.status_code} {res.text[:300]}"
        return res

    def signup(self):
        fields = {"username": self.username, "email": f"{self.username}@example.com", "password": PASSWORD}
        self.post("/signup", fields)
        self.signed_in = True
        return self

    def api_key(self, name="sdk tests"):
        res = self.post("/settings/api-keys", {"name": name}, expect=(200,))
        return NEW_KEY.search(res.text).group(1)

    def revoke_all_keys(self):
        page = self.web.get(self.base + "settings/api-keys").text
        for key_id in re.findall(r'action="/settings/api-keys/(\d+)/revoke"', page):
            self.post(f"/settings/api-keys/{key_id}/revoke", {})

    def client(self):
        return SegmentsClient(self.api_key(), api_url=self.base)

    def create_org(self, name):
        self.post("/organizations", {"username": name, "display_name": ""})

    def add_member(self, org, user, role="member", default_role="labeler"):
        self.post(f"/{org}/settings/members", {"username": user, "role": role, "default_role": default_role})


@pytest.fixture
def names():
    """Fresh names: every test makes its own people and organizations."""
    run = uuid.uuid4().hex[:8]
    return lambda prefix: f"{prefix}-{run}"


@pytest.fixture
def person(base, names):
    return lambda prefix: Person(base, names(prefix)).signup()
