"""The synchronous channels: REST and Rasa-compatible REST (the turn's replies in the answer).

Each is served twice over. The FastAPI routes make the OpenAPI schema and answer
anything unusual. ``FastChannels`` serves the common case — a POST with a JSON
body that validates — as plain ASGI, straight to the turn: no routing table walk,
dependency resolution, response-model round trip or middleware stack, which cost
about as much as a turn itself. It keeps the same checks (body cap, per-contact
rate limit) and answers the same bytes; anything else (another content type, bad
JSON, a schema error) is replayed into FastAPI, so error answers stay exactly the
FastAPI routes' ones.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from pydantic import BaseModel, Field, TypeAdapter
from starlette._utils import get_route_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from typing_extensions import TypedDict

from baton.api.errors import ApiError, error_response, error_responses, failure_response
from baton.api.models import VISIBLE
from baton.domain import events as ev
from baton.router.messages import Inbound
from baton.server.core import Baton
from baton.server.limits import late_body, send_413, send_error

log = logging.getLogger(__name__)

REST_PATH = "/channels/rest/webhook"
REST_MESSAGES_PATH = "/channels/rest/messages"
RASA_PATH = "/webhooks/rest/webhook"


#: an address or a message id: no control characters (PostgreSQL's text refuses NUL)
PRINTABLE = r"^[^\x00-\x1f\x7f]+$"


class RestMessage(BaseModel):
    """A message to the REST channel."""

    sender: str = Field(
        min_length=1, max_length=200, pattern=VISIBLE, description="the contact's address"
    )
    message: str = Field(max_length=100_000, description="the text")
    message_id: str | None = Field(None, min_length=1, max_length=200, pattern=PRINTABLE)


class RestReply(BaseModel):
    """A reply from the REST channel."""

    text: str
    bot_id: str | None
    sender: str


class RestAnswer(BaseModel):
    """The REST channel's answer: the turn's replies."""

    conversation_id: str | None
    contact_id: str | None
    replies: list[RestReply]
    duplicate: bool = False
    rejected: str | None = None
    seq: int = Field(
        0, description="the log's place after this turn: poll GET /channels/rest/messages after it"
    )


class RestReplyData(TypedDict):
    """``RestReply`` as a plain dict (the fast path's answer is built of these)."""

    text: str
    bot_id: str | None
    sender: str


class RestAnswerData(TypedDict):
    """``RestAnswer`` as a plain dict: what ``rest_answer`` returns.

    The fast path serializes it without building the models (validating each
    reply into a ``BaseModel`` cost four times the serialization); the FastAPI
    route validates it into ``RestAnswer``. Same fields, same order, same bytes.
    """

    conversation_id: str | None
    contact_id: str | None
    replies: list[RestReplyData]
    duplicate: bool
    rejected: str | None
    seq: int


class RasaMessage(BaseModel):
    """Rasa's REST channel input."""

    sender: str = Field(min_length=1, max_length=200, pattern=VISIBLE)
    message: str = Field(max_length=100_000)


class RasaReply(BaseModel):
    """Rasa's REST channel output item."""

    recipient_id: str
    text: str


async def rest_answer(baton: Baton, body: RestMessage) -> RestAnswerData:
    """Run a REST message; the answer (``duplicate`` for a message id taken in already)."""
    baton.limit_contact("rest", body.sender)
    inbound = Inbound("rest", body.sender, body.message, baton.settings.account_id, body.message_id)
    result = await baton.turn(inbound)
    if result is None:  # taken in before: answer what its turn answered
        earlier = await baton.earlier_answer(inbound)
        return {
            "conversation_id": earlier.conversation_id,
            "contact_id": earlier.contact_id,
            "replies": [
                {"text": e.text, "bot_id": e.bot_id, "sender": e.sender} for e in earlier.sent
            ],
            "duplicate": True,
            "rejected": None,
            "seq": earlier.seq,
        }
    return {
        "conversation_id": result.conversation_id,
        "contact_id": result.contact_id,
        "replies": [{"text": r.text, "bot_id": r.bot_id, "sender": r.sender} for r in result.sent],
        "duplicate": False,
        "rejected": result.rejected,
        "seq": result.version,
    }


class RestSent(BaseModel):
    """A message sent to the contact, with its place in the conversation's log."""

    seq: int
    text: str
    bot_id: str | None
    sender: str = Field(description="bot, human (an operator), or workflow")


class RestMessages(BaseModel):
    """What was sent to a REST contact after a point of its current conversation."""

    conversation_id: str | None
    messages: list[RestSent]
    seq: int = Field(description="the log's place read up to: poll after it next time")


async def rest_messages(baton: Baton, sender: str, after: int) -> RestMessages:
    """Messages sent to ``sender`` after ``after`` in its current conversation: an
    operator's message, an approved suggestion, a timer's nudge, which a synchronous
    answer could not carry."""
    account = baton.settings.account_id
    store = baton.engine.store
    contact_id = await store.identity_owner(account, "rest", sender)
    latest = await store.latest_conversation(account, contact_id) if contact_id else None
    if latest is None:
        return RestMessages(conversation_id=None, messages=[], seq=after)
    events = await store.read_events(account, latest.conversation_id, after=after)
    sent = [
        RestSent(seq=e.seq, text=e.event.text, bot_id=e.event.bot_id, sender=e.event.sender)
        for e in events
        if isinstance(e.event, ev.MessageSent)
    ]
    return RestMessages(
        conversation_id=latest.conversation_id,
        messages=sent,
        seq=events[-1].seq if events else after,
    )


async def rasa_answer(baton: Baton, body: RasaMessage) -> list[RasaReply]:
    """Run a Rasa REST message; its replies."""
    baton.limit_contact("rest", body.sender)
    result = await baton.turn(Inbound("rest", body.sender, body.message, baton.settings.account_id))
    replies = result.sent if result else []
    return [RasaReply(recipient_id=body.sender, text=r.text) for r in replies]


def rest_allowed(secret: str | None, authorization: str | bytes | None) -> bool:
    """Whether a REST channel request may pass: no secret is set (the channel is open, as
    Rasa's is), or it carries ``Authorization: Bearer <secret>``."""
    if secret is None:
        return True
    if isinstance(authorization, bytes):
        authorization = authorization.decode("latin-1")
    expected = f"Bearer {secret}"
    return authorization is not None and hmac.compare_digest(
        authorization.encode("utf-8", "replace"), expected.encode()
    )


async def rest_caller(request: Request) -> None:
    """401 unless the request may use the REST channels (``rest_allowed``). Not declared as
    an OpenAPI security scheme: the secret is optional, and a scheme says it is required."""
    baton: Baton = request.app.state.baton
    if not rest_allowed(baton.settings.rest_secret, request.headers.get("authorization")):
        raise ApiError(
            401,
            "invalid_rest_secret",
            "this server's REST channels take `Authorization: Bearer <BATON_REST_SECRET>`",
            {"WWW-Authenticate": "Bearer"},
        )


def add_rest_routes(app: FastAPI) -> None:
    """The FastAPI routes: the schema, and the answer to anything the fast path declines."""

    @app.post(
        RASA_PATH,
        response_model=list[RasaReply],
        tags=["channels"],
        responses=error_responses(400, 401, 413, 422, 429),
        dependencies=[Depends(rest_caller)],
    )
    async def rasa(body: RasaMessage, request: Request) -> list[RasaReply]:
        """Rasa-compatible REST channel: ``{"sender", "message"}`` in, replies out."""
        return await rasa_answer(request.app.state.baton, body)

    @app.post(
        REST_PATH,
        response_model=RestAnswer,
        tags=["channels"],
        name="rest_channel",
        responses=error_responses(400, 401, 413, 422, 429),
        dependencies=[Depends(rest_caller)],
    )
    async def rest(body: RestMessage, request: Request) -> RestAnswer:
        """The REST channel: post a message, get the turn's replies."""
        return RestAnswer.model_validate(await rest_answer(request.app.state.baton, body))

    @app.get(
        REST_MESSAGES_PATH,
        response_model=RestMessages,
        tags=["channels"],
        responses=error_responses(401, 422),
        dependencies=[Depends(rest_caller)],
    )
    async def rest_sent(
        request: Request,
        sender: Annotated[str, Query(min_length=1, max_length=200, pattern=PRINTABLE)],
        after: Annotated[int, Query(ge=0, le=2**31, description="a seq from an answer")] = 0,
    ) -> RestMessages:
        """What was sent to a REST contact after ``after`` (a `seq` of an earlier answer):
        messages no answer carried, such as an operator's or a timer's."""
        return await rest_messages(request.app.state.baton, sender, after)


async def _rest_bytes(baton: Baton, data: Any) -> bytes:
    return _REST_JSON(await rest_answer(baton, data))


async def _rasa_bytes(baton: Baton, data: Any) -> bytes:
    return _RASA_JSON(await rasa_answer(baton, data))


# The serializers' own ``to_json``: ``TypeAdapter.dump_json`` adds a layer of Python.
_REST_JSON = TypeAdapter(RestAnswerData).serializer.to_json
_RASA_JSON = TypeAdapter(list[RasaReply]).serializer.to_json


@dataclass(frozen=True, slots=True)
class Handler:
    """A fast route: its body's model, and what runs it into the answer's JSON."""

    model: type[BaseModel]
    run: Callable[[Baton, Any], Awaitable[bytes]]


_HANDLERS = {
    REST_PATH: Handler(RestMessage, _rest_bytes),
    RASA_PATH: Handler(RasaMessage, _rasa_bytes),
}
_JSON_HEADERS = [(b"content-type", b"application/json")]


class FastChannels:
    """The REST channels' common case as plain ASGI; the rest goes to ``fallback``."""

    def __init__(self, fallback: ASGIApp) -> None:
        self.fallback = fallback
        #: the server's parts, set by the app's lifespan (FastAPI answers until then);
        #: kept here, as reading ``app.state`` costs a Python ``__getattr__`` a request
        self.baton: Baton | None = None

    def handler(self, scope: Scope) -> Handler | None:
        """The fast handler for this request, if it is one of the synchronous channels."""
        if scope["type"] != "http" or scope["method"] != "POST":
            return None
        return _HANDLERS.get(get_route_path(scope))

    async def serve(self, scope: Scope, receive: Receive, send: Send, handler: Handler) -> None:
        """Answer one request for which ``handler`` is not None."""
        baton = self.baton
        if baton is None:
            await self.fallback(scope, receive, send)
            return
        cap = baton.settings.max_body_bytes
        secret = baton.settings.rest_secret
        if secret is not None:  # a refusal is FastAPI's answer (``rest_caller``)
            sent = dict(scope["headers"])
            if not rest_allowed(secret, sent.get(b"authorization")):
                await self.fallback(scope, receive, send)
                return
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit() or int(value) > cap:
                    await send_413(send, cap)
                    return
            elif name == b"content-type" and value.partition(b";")[0].strip().lower() != (
                b"application/json"
            ):
                await self.fallback(scope, receive, send)
                return
        try:
            async with asyncio.timeout(baton.settings.body_seconds):
                body = await _read(receive, cap)
        except TimeoutError:  # a client trickling its body holds a connection for nothing
            await send_error(send, 408, late_body(baton.settings.body_seconds))
            return
        if body is None:  # the client went away
            return
        if isinstance(body, int):
            await send_413(send, cap)
            return
        # Parsed and validated in one step; what this parser refuses and ``json`` takes
        # (a byte-order mark, UTF-16) goes to FastAPI like bad JSON, and gets its answer.
        try:
            message = handler.model.model_validate_json(body)
        except Exception:  # bad JSON, a schema error: FastAPI's own answer, from the start
            await self.fallback(scope, _replay(body, receive), send)
            return
        try:
            answer = await handler.run(baton, message)
        except ApiError as exc:
            failure = error_response(exc.status, exc.code, exc.message, exc.headers)
        except Exception as exc:
            failure = failure_response(exc, f"POST {get_route_path(scope)}")
        else:
            headers = [*_JSON_HEADERS, (b"content-length", str(len(answer)).encode())]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": answer})
            return
        await failure(scope, receive, send)


async def _read(receive: Receive, cap: int) -> bytes | int | None:
    """The request body; its size so far if over ``cap``; None on a disconnect."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > cap:
            return size
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
