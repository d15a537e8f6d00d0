"""Request bodies as the emulators read them: urlencoded, multipart and JSON alike.

The client libraries each send their parameters their own way (a form, multipart with files,
or JSON), so every emulator reads a call into the same :class:`Form` and does not care which
way it came.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import collapse_rfc2231_value
from urllib.parse import parse_qsl


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Form:
    """Parameters from the query string and the body (body wins), and uploaded files."""

    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, Upload] = field(default_factory=dict)


def parse_form(content_type: str, body: bytes, query: str = "") -> Form:
    """Reads urlencoded, multipart and JSON bodies alike (JSON values that are not strings
    become JSON text, the way PTB sends them in a form)."""
    fields = dict(parse_qsl(query, keep_blank_values=True))
    files: dict[str, Upload] = {}
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/x-www-form-urlencoded":
        fields.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    elif media_type == "multipart/form-data":
        _read_multipart(content_type, body, fields, files)
    elif media_type == "application/json" and body:
        with contextlib.suppress(ValueError):
            data = json.loads(body)
            if isinstance(data, dict):
                fields.update(
                    {k: v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}
                )
    return Form(fields, files)


def _read_multipart(
    content_type: str, body: bytes, fields: dict[str, str], files: dict[str, Upload]
) -> None:
    # The standard library's MIME parser reads form-data too; starlette's needs an extra
    # package (python-multipart) that syndicator does not otherwise depend on.
    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1", "replace")
    message = BytesParser(EmailMessage, policy=policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        return
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name is None:
            continue
        name = collapse_rfc2231_value(name)
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            continue
        filename = part.get_filename()
        if filename is None:
            fields[name] = data.decode(part.get_content_charset() or "utf-8", "replace")
        else:
            files[name] = Upload(filename, part.get_content_type(), data)
