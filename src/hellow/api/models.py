"""Request bodies (pydantic, strict: a number is not a string, a string is not a bool)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

USERNAME = re.compile(r"^[a-z0-9_.-]{3,32}$")
Id = Annotated[str, Field(min_length=1, max_length=64)]


class Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


def _trimmed(value: str, field: str, most: int) -> str:
    value = value.strip()
    if not value:
        raise ValueError(f"{field} must not be empty")
    if len(value) > most:
        raise ValueError(f"{field} must be at most {most} characters")
    return value


class Credentials(Body):
    username: str = Field(max_length=256)
    password: str = Field(max_length=256)

    @field_validator("username")
    @classmethod
    def _lower(cls, v: str) -> str:
        return v.strip().lower()


class Register(Credentials):
    password: str = Field(min_length=8, max_length=256)
    display_name: str | None = Field(default=None, max_length=256)

    @field_validator("username")
    @classmethod
    def _username(cls, v: str) -> str:
        if not USERNAME.match(v):
            raise ValueError("3 to 32 characters of a-z, 0-9, _ . and -")
        return v

    @field_validator("display_name")
    @classmethod
    def _display_name(cls, v: str | None) -> str | None:
        return None if v is None else _trimmed(v, "display_name", 64)


class NewConversation(Body):
    kind: Literal["direct", "group"]
    title: str | None = Field(default=None, max_length=1000)
    member_ids: list[Id] = Field(max_length=1000)

    @field_validator("title")
    @classmethod
    def _title(cls, v: str | None) -> str | None:
        return None if v is None else _trimmed(v, "title", 100)


class AddMembers(Body):
    user_ids: list[Id] = Field(min_length=1, max_length=1000)


class SendMessage(Body):
    client_id: str = Field(min_length=1, max_length=64)
    body: str = Field(max_length=16000)
    reply_to: Id | None = None

    @field_validator("body")
    @classmethod
    def _body(cls, v: str) -> str:
        return _trimmed(v, "body", 4000)


class EditMessage(Body):
    body: str = Field(max_length=16000)

    @field_validator("body")
    @classmethod
    def _body(cls, v: str) -> str:
        return _trimmed(v, "body", 4000)


class Receipt(Body):
    delivered_seq: int | None = Field(default=None, ge=0, le=2**53)
    read_seq: int | None = Field(default=None, ge=0, le=2**53)


class Typing(Body):
    typing: bool
