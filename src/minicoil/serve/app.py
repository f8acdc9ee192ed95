"""The HTTP side of ``minicoil serve``: a FastAPI app over one open collection.

Routes: ``/search``, ``/compare`` (the page's three columns), ``/explain``, ``/senses``,
``/health``, the page itself at ``/`` (static files shipped in the package) and OpenAPI docs at
``/docs``. The answers come from :class:`minicoil.serve.service.Service`; this module only
validates parameters, enforces :class:`~minicoil.serve.limits.Limits`, maps errors to clear
JSON 4xx answers and logs one line per request.

Every route is a plain ``def``: FastAPI runs those on its worker thread pool, so a forward
pass (CPU-bound, seconds at worst) never blocks the event loop that accepts other requests.
"""

# No ``from __future__ import annotations``: FastAPI reads the parameter annotations at
# run time, and the bounds in them (``Q``, ``K``) are local to :func:`_routes`.
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from minicoil.serve.limits import Limits, RateLimiter
from minicoil.serve.service import DocumentNotFound, Service

if TYPE_CHECKING:
    from minicoil.search.qdrant import SearchIndex

__all__ = ["create_app"]

STATIC = Path(__file__).resolve().parent / "static"
RATE_LIMITED = ("/search", "/compare", "/explain", "/senses")
log = logging.getLogger("minicoil.serve")

Mode = Literal["bm25", "sparse", "hybrid", "dense"]


class SearchHit(BaseModel):
    rank: int
    id: str
    score: float
    title: str
    snippet: str


class SearchAnswer(BaseModel):
    query: str
    mode: str
    k: int
    hits: list[SearchHit]


class Health(BaseModel):
    status: str
    collection: str
    documents: int


def _error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


def _validation_message(exc: RequestValidationError) -> str:
    """``k: Input should be less than or equal to 100; q: Field required`` from pydantic's
    error list (the parameter named, not its location tuple)."""
    parts = []
    for err in exc.errors():
        name = str(err.get("loc", ("", "?"))[-1])
        parts.append(f"{name}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def _query_text(q: str, limits: Limits) -> str:
    text = q.strip()
    if not text:
        raise ValueError("q: the query is empty")
    if len(text) > limits.max_query_chars:
        raise ValueError(f"q: the query is longer than {limits.max_query_chars} characters")
    return text


def create_app(index: "SearchIndex", *, limits: Limits | None = None) -> FastAPI:
    """The app serving ``index`` (already open, its model loaded) with ``limits``."""
    limits = limits or Limits()
    service = Service(index)
    limiter = RateLimiter(limits.rate, limits.burst)
    app = FastAPI(
        title="minicoil",
        summary="BM25 made meaning-aware: search a miniCOIL collection and see why it matched.",
    )
    app.state.service = service
    app.state.limits = limits

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, _validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail))  # unknown path, wrong method

    @app.exception_handler(ValueError)
    async def bad_value(_: Request, exc: ValueError) -> JSONResponse:
        return _error(400, str(exc))

    @app.exception_handler(DocumentNotFound)
    async def not_found(_: Request, exc: DocumentNotFound) -> JSONResponse:
        return _error(404, str(exc.args[0]))

    @app.middleware("http")
    async def guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]):
        # One log line per request; the rate limit; anything unexpected becomes a JSON 500
        # with the traceback in the server log, never in the answer.
        start = time.perf_counter()
        client = request.client.host if request.client else "-"
        try:
            wait = limiter.allow(client) if request.url.path in RATE_LIMITED else 0.0
            if wait > 0:
                response: Response = _error(
                    429,
                    f"too many requests: at most {limits.rate:g} per second "
                    f"(bursts of {limits.burst}); retry in {wait:.1f} s",
                    **{"Retry-After": str(max(1, round(wait)))},
                )
            else:
                response = await call_next(request)
        except Exception:
            log.exception("%s %s failed", request.method, request.url.path)
            response = _error(500, "internal error (details are in the server log)")
        took = (time.perf_counter() - start) * 1000
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        log.info("%s %s %s %d %.1fms", client, request.method, target, response.status_code, took)
        return response

    _routes(app, service, limits)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def _routes(app: FastAPI, service: Service, limits: Limits) -> None:
    """The API routes; parameter bounds come from ``limits`` (and show in ``/docs``)."""
    Q = Annotated[str, Query(description="Query text.", max_length=limits.max_query_chars)]
    K = Annotated[int, Query(ge=1, le=limits.max_k, description="Number of hits.")]

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/health", response_model=Health)
    def health() -> dict[str, Any]:
        """Whether the service is up, and the collection it serves."""
        return service.health()

    @app.get("/search", response_model=SearchAnswer)
    def search(q: Q, k: K = 10, mode: Mode = "hybrid") -> dict[str, Any]:
        """Top ``k`` documents for ``q``: ``bm25``, ``sparse`` (miniCOIL), ``hybrid``
        (miniCOIL + dense, the default) or ``dense``."""
        text = _query_text(q, limits)
        return {"query": text, "mode": mode, "k": k, "hits": service.search(text, k, mode)}

    @app.get("/compare")
    def compare(q: Q, k: K = 10, words: bool = True) -> dict[str, Any]:
        """BM25, miniCOIL and hybrid rankings of ``q`` side by side and, with ``words``, the
        meaning cosine of every matched word of every document shown (what the page draws)."""
        return service.compare(_query_text(q, limits), k, words)

    @app.get("/explain")
    def explain(
        q: Q, doc: Annotated[str, Query(min_length=1, max_length=256, description="Doc id.")]
    ) -> dict[str, Any]:
        """Per matched word of document ``doc`` (returned by an earlier search): its stem,
        IDF in the collection, BM25 tf, meaning cosine and contribution to the score."""
        return service.explain(_query_text(q, limits), doc)

    @app.get("/senses")
    def senses(
        word: Annotated[str, Query(min_length=1, max_length=64, description="One word.")],
        samples: Annotated[int, Query(ge=2, le=limits.max_samples)] = 60,
    ) -> dict[str, Any]:
        """The meaning vectors of ``word`` in up to ``samples`` documents that contain it,
        clustered, as 2-D points with snippets (the page draws them)."""
        text = word.strip()
        if not text or len(text.split()) != 1:
            raise ValueError("word: give exactly one word")
        return service.senses(text, samples)
