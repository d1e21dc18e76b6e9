"""HTTP inference: FastAPI app with limits, micro-batching and clear JSON errors.

POST /predict  {"texts": ["...", ...]}  ->  {"predictions": [{"label", "score", "scores"}]}
GET  /health   ->  {"status": "ok"}
GET  /info     ->  how the model was made, its measured metrics, the limits

Requests that arrive within ``batch_window_ms`` of each other are predicted as one
batch (up to ``max_batch_texts``), in a worker thread so the event loop keeps
accepting. Errors are JSON ``{"error": {"status", "message"}}``: malformed JSON 400,
wrong shape or invalid text 422, too large (body, texts per request, characters per
text) 413, queue full 503 with Retry-After, prediction slower than the timeout 504.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from contextlib import asynccontextmanager
from dataclasses import asdict

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from lahan.config import ServeConfig
from lahan.deploy.predictor import softmax

log = logging.getLogger(__name__)


class Overloaded(Exception):
    pass


class MicroBatcher:
    """Collects concurrent requests into batches and predicts them in a worker thread."""

    def __init__(self, predictor, config: ServeConfig):
        self.predictor = predictor
        self.config = config
        self.queue: asyncio.Queue = asyncio.Queue()
        self.pending_texts = 0
        self.task: asyncio.Task | None = None
        self.batches = 0

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
            try:
                await self.task
            except asyncio.CancelledError:
                pass

    async def submit(self, texts: list[str]) -> np.ndarray:
        if self.pending_texts + len(texts) > self.config.queue_texts:
            raise Overloaded
        future = asyncio.get_running_loop().create_future()
        self.pending_texts += len(texts)
        await self.queue.put((texts, future))
        return await future

    async def _predict(self, texts: list[str]) -> np.ndarray:
        logits = await asyncio.to_thread(self.predictor.logits, texts, self.config.batch_size)
        return softmax(logits) if len(texts) else logits

    async def _collect(self) -> list[tuple[list[str], asyncio.Future]]:
        """The next request, plus those arriving within the window (up to the batch cap)."""
        items = [await self.queue.get()]
        count = len(items[0][0])
        deadline = time.monotonic() + self.config.batch_window_ms / 1000
        while count < self.config.max_batch_texts:
            remaining = deadline - time.monotonic()
            try:
                if remaining <= 0:  # window over: still take what is already waiting
                    item = self.queue.get_nowait()
                else:
                    item = await asyncio.wait_for(self.queue.get(), remaining)
            except (TimeoutError, asyncio.QueueEmpty):
                break
            items.append(item)
            count += len(item[0])
        return items

    async def _run(self) -> None:
        while True:
            items = await self._collect()
            live = [(t, f) for t, f in items if not f.cancelled()]
            try:
                try:
                    probs = await self._predict([text for t, _ in live for text in t])
                    parts: list = []
                    start = 0
                    for t, _ in live:
                        parts.append(probs[start : start + len(t)])
                        start += len(t)
                except Exception:  # noqa: BLE001 - find which request broke the batch
                    parts = []
                    for t, _ in live:
                        try:
                            parts.append(await self._predict(t))
                        except Exception as err:  # noqa: BLE001 - handed to its request
                            parts.append(err)
                for (_, future), part in zip(live, parts, strict=True):
                    if future.done():
                        continue
                    if isinstance(part, Exception):
                        future.set_exception(part)
                    else:
                        future.set_result(part)
            finally:
                self.pending_texts -= sum(len(t) for t, _ in items)
                self.batches += 1


def _error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": {"status": status, "message": message}}, status_code=status, headers=headers
    )


def _check_texts(payload, config: ServeConfig) -> list[str] | JSONResponse:
    if not isinstance(payload, dict) or "texts" not in payload:
        return _error(422, 'the body must be a JSON object {"texts": ["...", ...]}')
    texts = payload["texts"]
    if not isinstance(texts, list) or not texts:
        return _error(422, '"texts" must be a non-empty list of strings')
    if len(texts) > config.max_texts:
        return _error(413, f"{len(texts)} texts in one request; the limit is {config.max_texts}")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            return _error(422, f"texts[{i}] is {type(text).__name__}, not a string")
        if not text.strip():
            return _error(422, f"texts[{i}] is empty")
        if len(text) > config.max_chars:
            return _error(
                413, f"texts[{i}] has {len(text)} characters; the limit is {config.max_chars}"
            )
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return _error(422, f"texts[{i}] is not valid Unicode (a lone surrogate escape)")
    return texts


async def _read_body(request: Request, limit: int) -> bytes | JSONResponse:
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                return _error(413, f"the body has {declared} bytes; the limit is {limit}")
        except ValueError:
            return _error(400, "Content-Length is not a number")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return _error(413, f"the body is larger than the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(predictor, config: ServeConfig | None = None) -> FastAPI:
    config = config or ServeConfig()
    batcher = MicroBatcher(predictor, config)
    stats = {"requests": 0, "texts": 0, "started": time.time()}

    @asynccontextmanager
    async def lifespan(_app):
        batcher.start()
        yield
        await batcher.stop()

    app = FastAPI(title="lahan", lifespan=lifespan)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request, exc: StarletteHTTPException):
        # FastAPI's own errors (unknown path, wrong method) in lahan's one error shape
        return _error(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.get("/health")
    async def health():
        return {"status": "ok"}

    @app.get("/info")
    async def info():
        return {
            "model": predictor.info,
            "limits": asdict(config),
            "served": stats | {"batches": batcher.batches},
        }

    @app.post("/predict")
    async def predict(request: Request):
        body = await _read_body(request, config.max_body_bytes)
        if isinstance(body, JSONResponse):
            return body
        try:
            payload = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            return _error(400, f"the body is not valid JSON ({err})")
        except RecursionError:
            return _error(400, "the body is not valid JSON (nested too deeply)")
        texts = _check_texts(payload, config)
        if isinstance(texts, JSONResponse):
            return texts
        try:
            probs = await asyncio.wait_for(batcher.submit(texts), config.timeout_s)
        except Overloaded:
            return _error(503, "the server is busy: retry shortly", {"Retry-After": "1"})
        except TimeoutError:
            return _error(504, f"the prediction took longer than {config.timeout_s}s")
        except Exception as err:  # noqa: BLE001 - a failed prediction is still a JSON answer
            log.exception("prediction failed")
            return _error(500, f"the prediction failed ({type(err).__name__}); see the server log")
        stats["requests"] += 1
        stats["texts"] += len(texts)
        labels = predictor.labels
        # as `lahan predict` does: say which texts were cut to the model's max length
        counts = predictor.token_counts(texts)
        return {
            "predictions": [
                {
                    "label": labels[int(p.argmax())],
                    "score": float(p.max()),
                    "scores": {label: float(v) for label, v in zip(labels, p, strict=True)},
                    "truncated": count > predictor.max_length,
                }
                for p, count in zip(probs, counts, strict=True)
            ]
        }

    return app
