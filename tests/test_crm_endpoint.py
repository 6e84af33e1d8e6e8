"""Choosing the CRM target and its credentials from --url and the environment."""

from __future__ import annotations

import base64

import pytest

from reconciler.crm.endpoint import resolve_endpoint
from reconciler.diagnostics import DiagnosticError

CANARY = "canary-7f3a9c-do-not-print"
URL = "https://sod.superoffice.com/Cust12345"


def resolve(url: str | None = URL, insecure: bool = False, **env: str):
    return resolve_endpoint(url, insecure=insecure, env=env)


def error_text(url: str | None = URL, insecure: bool = False, **env: str) -> str:
    with pytest.raises(DiagnosticError) as info:
        resolve(url, insecure, **env)
    return str(info.value)


def test_no_url_means_the_embedded_emulator():
    assert resolve(None, SUPEROFFICE_TOKEN=CANARY) is None


def test_url_comes_from_the_environment_when_not_given():
    target = resolve(None, SUPEROFFICE_URL=URL, SUPEROFFICE_TOKEN=CANARY)
    assert target is not None and target.base_url == URL + "/"


def test_bearer_token():
    target = resolve(SUPEROFFICE_TOKEN=CANARY)
    assert target.headers == {"Authorization": f"Bearer {CANARY}"}
    assert target.base_url == "https://sod.superoffice.com/Cust12345/"


def test_soticket_with_app_token():
    target = resolve(SUPEROFFICE_TICKET="7T:abc", SUPEROFFICE_APP_TOKEN=CANARY)
    assert target.headers == {"Authorization": "SOTicket 7T:abc", "SO-AppToken": CANARY}


def test_basic_auth():
    target = resolve(SUPEROFFICE_USER="admin", SUPEROFFICE_PASSWORD=CANARY)
    expected = base64.b64encode(f"admin:{CANARY}".encode()).decode()
    assert target.headers == {"Authorization": f"Basic {expected}"}


def test_description_and_repr_hold_no_secret():
    for env in (
        {"SUPEROFFICE_TOKEN": CANARY},
        {"SUPEROFFICE_TICKET": CANARY, "SUPEROFFICE_APP_TOKEN": CANARY},
        {"SUPEROFFICE_USER": "admin", "SUPEROFFICE_PASSWORD": CANARY},
    ):
        target = resolve(**env)
        assert CANARY not in target.description
        assert CANARY not in repr(target)
        assert target.description.startswith(URL + "/ (")


def test_api_root_and_trailing_slash_are_normalised():
    assert resolve(URL + "/api/v1/", SUPEROFFICE_TOKEN="t").base_url == URL + "/"
    assert resolve("https://crm.example.com", SUPEROFFICE_TOKEN="t").base_url == "https://crm.example.com/"


def test_no_credentials_names_the_variables():
    text = error_text()
    assert "no credentials" in text
    for name in ("SUPEROFFICE_TOKEN", "SUPEROFFICE_TICKET", "SUPEROFFICE_APP_TOKEN",
                 "SUPEROFFICE_USER", "SUPEROFFICE_PASSWORD"):
        assert name in text


@pytest.mark.parametrize(
    "env, missing",
    [
        ({"SUPEROFFICE_TICKET": CANARY}, "SUPEROFFICE_APP_TOKEN"),
        ({"SUPEROFFICE_APP_TOKEN": CANARY}, "SUPEROFFICE_TICKET"),
        ({"SUPEROFFICE_USER": CANARY}, "SUPEROFFICE_PASSWORD"),
        ({"SUPEROFFICE_PASSWORD": CANARY}, "SUPEROFFICE_USER"),
    ],
)
def test_half_a_pair_names_the_missing_variable_and_no_value(env, missing):
    text = error_text(**env)
    assert f"{missing} is not" in text
    assert CANARY not in text


def test_half_a_pair_is_an_error_even_next_to_a_token():
    text = error_text(SUPEROFFICE_TOKEN=CANARY, SUPEROFFICE_USER="admin")
    assert "SUPEROFFICE_PASSWORD is not" in text and CANARY not in text


@pytest.mark.parametrize("url", ["ftp://crm.example.com/", "not a url", "https://", "https://h:99999/",
                                 "https://crm.example.com/?tenant=1"])
def test_malformed_url(url):
    text = error_text(url, SUPEROFFICE_TOKEN="t")
    assert "URL" in text and "https://sod.superoffice.com/Cust12345/" in text


def test_credentials_in_the_url_are_refused_without_echoing_them():
    text = error_text(f"https://admin:{CANARY}@crm.example.com/", SUPEROFFICE_TOKEN="t")
    assert "contains credentials" in text and CANARY not in text


def test_plain_http_is_refused_for_a_remote_host_unless_insecure():
    text = error_text("http://crm.example.com/", SUPEROFFICE_TOKEN="t")
    assert "http" in text and "--insecure" in text
    assert resolve("http://crm.example.com/", True, SUPEROFFICE_TOKEN="t").base_url == "http://crm.example.com/"


@pytest.mark.parametrize("host", ["127.0.0.1:8080", "localhost:5000", "[::1]:80"])
def test_plain_http_is_fine_on_loopback(host):
    assert resolve(f"http://{host}/", SUPEROFFICE_TOKEN="t").base_url == f"http://{host}/"


def test_header_breaking_characters_are_refused_by_name():
    text = error_text(SUPEROFFICE_TOKEN=CANARY + "\r\nX-Evil: 1")
    assert "SUPEROFFICE_TOKEN" in text and CANARY not in text


def test_all_problems_are_reported_at_once():
    text = error_text("http://crm.example.com/", SUPEROFFICE_TICKET=CANARY)
    assert "--insecure" in text and "SUPEROFFICE_APP_TOKEN" in text


@pytest.mark.parametrize(
    ("url", "warned"),
    [
        ("https://sod.superoffice.com/Cust12345/", True),
        ("https://online.SuperOffice.com/Cust1/", True),
        ("https://crm.example.com/SuperOffice/", False),
        ("https://superoffice.com.example.org/", False),
    ],
)
def test_basic_auth_against_online_is_warned_about(url: str, warned: bool):
    target = resolve_endpoint(url, env={"SUPEROFFICE_USER": "ADM", "SUPEROFFICE_PASSWORD": "pw"})
    assert target is not None
    assert bool(target.warnings) == warned
    assert all("onsite" in w and "SUPEROFFICE_TOKEN" in w for w in target.warnings)
    bearer = resolve_endpoint(url, env={"SUPEROFFICE_TOKEN": "t"})
    assert bearer is not None and bearer.warnings == ()
