"""The booking page's address as a citizen types it: the site code in any case finds the site; a wrong address is
a page a person reads (Vietnamese, ?lang=en English), not JSON; the JSON endpoints keep their JSON errors."""

from __future__ import annotations


def test_the_site_code_is_found_in_any_case(client, world):
    for address in ("/book/hn", "/book/Hn", "/book/HN"):
        page = client.get(address)
        assert page.status_code == 200 and '"base": "/book/HN"' in page.get_data(as_text=True)
    assert client.get("/book/hn/catalogue").get_json()["site"]["code"] == "HN"


def test_a_wrong_address_is_a_page_in_the_citizens_language(client, world):
    for address in ("/book/NOPE", "/book/NOPE/m/some-secret"):
        missing = client.get(address)
        assert missing.status_code == 404 and missing.mimetype == "text/html"
        assert "Không tìm thấy trang" in missing.get_data(as_text=True)
    english = client.get("/book/NOPE?lang=en")
    assert english.status_code == 404 and "Page not found" in english.get_data(as_text=True)
    api = client.get("/book/NOPE/catalogue")
    assert api.status_code == 404 and api.get_json()["error"]["code"] == "unknown_site"


def test_the_staff_page_without_a_sign_in_goes_to_the_sign_in_and_back(client, world):
    for address in ("/book/HN/staff", "/book/staff"):
        page = client.get(address)
        assert page.status_code == 302, page.get_data(as_text=True)[:200]
        assert page.headers["Location"].startswith("/dashboard/login?next=") and address in page.headers["Location"]
    api = client.get("/book/HN/staff/day")  # the JSON endpoints keep their JSON 401
    assert api.status_code == 401 and api.get_json()["error"]["code"] == "unauthorized"
