"""/internal/session/messages: a client's pending flash messages, wherever the project's MESSAGE_STORAGE
keeps them (this project's cache sessions, or the signed cookie), taken once as a page takes them."""

import pytest
from django.conf import settings
from django.contrib import messages
from django.contrib.messages.storage.cookie import CookieStorage
from django.http import HttpRequest, HttpResponse
from django.test import override_settings
from suite_project.shop.models import Member

pytestmark = pytest.mark.django_db
PATH = "/internal/session/messages"


def _bearer(**extra):
    return {"HTTP_AUTHORIZATION": f"Bearer {settings.STRANGLER_INTERNAL_TOKEN}", **extra}


@override_settings(MESSAGE_STORAGE="django.contrib.messages.storage.session.SessionStorage")
def test_messages_kept_in_the_session_are_taken_once(client):
    client.force_login(Member.objects.create_user("ada@example.com", password="pw-0123456789", team="red"))
    session = client.session
    session["_messages"] = '[["__json_message",0,25,"Your widget was saved."]]'
    session.save()
    key = session.session_key
    taken = client.post(PATH, **_bearer(HTTP_X_LEGACY_SESSION=key))
    assert taken.status_code == 200, taken.content
    assert taken.json() == {
        "messages": [{"level": 25, "tags": "success", "message": "Your widget was saved."}],
        "set_cookies": [],
    }
    assert client.post(PATH, **_bearer(HTTP_X_LEGACY_SESSION=key)).json()["messages"] == []
    assert client.session.get("_auth_user_id") is not None  # the rest of the session is intact


def test_messages_kept_in_the_cookie_are_taken_and_the_cookie_emptied(client):
    request = HttpRequest()
    storage = CookieStorage(request)
    storage.add(messages.ERROR, "That colour <b>is</b> taken.")
    pending = HttpResponse()
    storage.update(pending)
    value = pending.cookies[storage.cookie_name].value
    taken = client.post(PATH, **_bearer(HTTP_X_LEGACY_MESSAGES=value))
    assert taken.json()["messages"] == [
        {"level": 40, "tags": "error", "message": "That colour <b>is</b> taken."}
    ]
    (cookie,) = taken.json()["set_cookies"]
    assert cookie.startswith(f"{storage.cookie_name}=") and "Max-Age=0" in cookie
    # a forged cookie holds no message, and nobody is asked to change a cookie they do not have
    assert client.post(PATH, **_bearer(HTTP_X_LEGACY_MESSAGES=value[:-2] + "xx")).json()["messages"] == []
    assert client.post(PATH, **_bearer()).json() == {"messages": [], "set_cookies": []}


def test_the_endpoint_is_internal_and_takes_only_post(client):
    assert client.post(PATH).status_code == 401
    assert client.get(PATH, **_bearer()).status_code == 405
