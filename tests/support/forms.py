"""Reading and posting the administration's HTML forms as a browser would, through the Flask test client."""

from __future__ import annotations

import re
from html import unescape


def text_of(response) -> str:
    return unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def form_of(client, headers, path: str) -> dict[str, list[str]]:
    """The inputs of the page's edit form as the browser would post them (ticked boxes, chosen options)."""
    html = client.get(path, headers=headers).get_data(as_text=True)
    form = html.split('id="edit-form"', 1)[1].split("</form>", 1)[0]
    data: dict[str, list[str]] = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        if not name:
            continue
        kind = re.search(r'type="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if kind and kind[1] == "checkbox":
            if " checked" in tag:
                data.setdefault(name[1], []).append(unescape(value[1]) if value else "on")
            continue
        data.setdefault(name[1], []).append(unescape(value[1]) if value else "")
    for name, body in re.findall(r'<select name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', body)
        data[name] = [unescape(chosen[1])] if chosen else []
    for name, body in re.findall(r'<textarea name="([^"]+)"[^>]*>(.*?)</textarea>', form, re.S):
        data[name] = [unescape(body)]
    return data


def post(client, headers, path: str, data: dict[str, list[str]], **changes):
    payload = {**data, **{k: (v if isinstance(v, list) else [v]) for k, v in changes.items()}}
    return client.post(path, data=payload, headers=headers)
