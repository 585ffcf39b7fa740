"""Prometheus metrics and request ids: what an operator watches, and how a log line is
traced back to the request that caused it.

Each app has its own registry (tests build many apps in one process). Requests are
counted by route template (``/documents/{doc_id}``, never the id itself), method and
status; ``/ask`` reports each stage's time and whether it answered or abstained; the
question queue and the index size are read when ``/metrics`` is scraped.
"""

from __future__ import annotations

import contextvars
import re
import uuid

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag.core.types import AskResult

#: The id of the request being served, for log records (see :class:`RequestIdFilter`).
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
STAGES = ("embed", "dense", "lexical", "fetch", "read", "merge")


class Metrics:
    """The service's metrics, in their own registry."""

    def __init__(self, pipeline_of) -> None:
        """``pipeline_of()``: the loaded pipeline (the index size and queue are read from it)."""
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "rag_http_requests",
            "HTTP requests by route, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.stage_seconds = Histogram(
            "rag_ask_stage_seconds",
            "Time of each stage of answering a question.",
            ["stage"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )
        self.ask_seconds = Histogram(
            "rag_ask_seconds",
            "Time to answer a question, queueing included.",
            buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
            registry=self.registry,
        )
        self.answers = Counter(
            "rag_answers",
            "Questions answered or abstained on.",
            ["outcome"],
            registry=self.registry,
        )
        queue = Gauge(
            "rag_questions_waiting",
            "Questions queued for the compute thread.",
            registry=self.registry,
        )
        queue.set_function(lambda: pipeline_of().questions_waiting)
        documents = Gauge("rag_index_documents", "Documents in the index.", registry=self.registry)
        documents.set_function(lambda: pipeline_of().store.counts()[0])
        passages = Gauge("rag_index_passages", "Passages in the index.", registry=self.registry)
        passages.set_function(lambda: pipeline_of().store.counts()[1])

    def observe_answer(self, result: AskResult, seconds: float) -> None:
        self.ask_seconds.observe(seconds)
        for stage in STAGES:
            if stage in result.timings_ms:
                self.stage_seconds.labels(stage).observe(result.timings_ms[stage] / 1000)
        self.answers.labels("answered" if result.answer is not None else "abstained").inc()


class RequestMetrics:
    """Counts every request by route template and status; gives each an id
    (``X-Request-ID``: the client's, when it is a sane token, or a new one) that is
    returned in the response and named in the server's log lines about it."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers", [])).get(b"x-request-id", b"").decode("latin-1")
        rid = given if _VALID_ID.match(given) else uuid.uuid4().hex
        token = request_id.set(rid)
        status = 500

        async def send_with_id(msg: Message) -> None:
            nonlocal status
            if msg["type"] == "http.response.start":
                status = msg["status"]
                msg = {**msg, "headers": [*msg.get("headers", []), (b"x-request-id", rid.encode())]}
            await send(msg)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.requests.labels(template, scope.get("method", ""), str(status)).inc()
            request_id.reset(token)
