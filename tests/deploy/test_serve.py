"""`lahan serve`: every error path through TestClient, micro-batching, and a real uvicorn."""

import json
import threading
import time

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient

from lahan.config import ServeConfig
from lahan.deploy.loadtest import serving
from lahan.deploy.predictor import TorchPredictor
from lahan.deploy.serve import create_app
from lahan.errors import LahanError


class SlowPredictor:
    """Counts the batches it is given; slow enough for requests to pile up."""

    labels = ["a", "b"]
    max_length = 16
    info = {"runtime": "fake"}

    def __init__(self, delay=0.05):
        self.delay = delay
        self.calls: list[int] = []

    def token_counts(self, texts):
        return [len(t) for t in texts]

    def logits(self, texts, batch_size=32):
        self.calls.append(len(texts))
        time.sleep(self.delay)
        return np.array([[float(len(t)), 0.0] for t in texts], dtype=np.float32)


@pytest.fixture(scope="module")
def client(trained_tiny):
    config = ServeConfig(max_texts=4, max_chars=50, max_body_bytes=2000)
    with TestClient(create_app(TorchPredictor(trained_tiny[0]), config)) as c:
        yield c


def test_predict_health_info(client, trained_tiny):
    r = client.post("/predict", json={"texts": ["भारताने सामना जिंकला", "राज्य सरकार"]})
    assert r.status_code == 200
    predictions = r.json()["predictions"]
    assert len(predictions) == 2 and abs(sum(predictions[0]["scores"].values()) - 1) < 1e-5
    expected = TorchPredictor(trained_tiny[0]).logits(["भारताने सामना जिंकला"]).argmax(-1)[0]
    assert predictions[0]["label"] == TorchPredictor(trained_tiny[0]).labels[expected]
    assert client.get("/health").json() == {"status": "ok"}
    info = client.get("/info").json()
    assert info["model"]["made_by"] == "finetune" and info["model"]["metrics"]["dev"]
    assert info["limits"]["max_texts"] == 4
    # a text longer than the model's max length is flagged, as `lahan predict` does
    with TestClient(create_app(TorchPredictor(trained_tiny[0]))) as wide:
        long = wide.post("/predict", json={"texts": ["शब्द " * 400, "राज्य"]}).json()
    assert [p["truncated"] for p in long["predictions"]] == [True, False]
    # FastAPI's own errors come in the same shape as lahan's
    for r in (client.get("/nowhere"), client.get("/predict")):
        assert r.status_code in (404, 405) and set(r.json()) == {"error"}
        assert r.json()["error"]["status"] == r.status_code


@pytest.mark.parametrize(
    "body, status, words",
    [
        (b'{"texts": ["a"', 400, "not valid JSON"),
        (b"\xff\xfe\x00garbage", 400, "not valid JSON"),
        (b'["a", "b"]', 422, "JSON object"),
        (b'{"text": ["a"]}', 422, "JSON object"),
        (b'{"texts": []}', 422, "non-empty list"),
        (b'{"texts": "abc"}', 422, "non-empty list"),
        (b'{"texts": ["ok", 5]}', 422, "texts[1] is int"),
        (b'{"texts": ["ok", "  "]}', 422, "texts[1] is empty"),
        (b'{"texts": ["\\ud800"]}', 422, "lone surrogate"),
        (json.dumps({"texts": ["x"] * 5}).encode(), 413, "limit is 4"),
        (json.dumps({"texts": ["x" * 51]}).encode(), 413, "limit is 50"),
        (json.dumps({"texts": ["x" * 40] * 60}).encode(), 413, "limit is 2000"),
    ],
)
def test_error_paths(client, body, status, words):
    r = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["status"] == status and words in error["message"]


def test_body_limit_holds_without_content_length(client):
    def chunks():
        for _ in range(10):
            yield b" " * 500  # 5,000 bytes, streamed with no Content-Length

    r = client.post("/predict", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_concurrent_requests_are_micro_batched():
    predictor = SlowPredictor()
    config = ServeConfig(batch_window_ms=50, max_batch_texts=64)
    with TestClient(create_app(predictor, config)) as c:
        results = []

        def call(i):
            results.append(c.post("/predict", json={"texts": ["x" * (i + 1)]}).json())

        threads = [threading.Thread(target=call, args=(i,)) for i in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(results) == 12 and all(r["predictions"][0]["label"] == "a" for r in results)
    assert sum(predictor.calls) == 12 and len(predictor.calls) < 12  # batched


def test_full_queue_answers_503_with_retry_after():
    predictor = SlowPredictor(delay=0.5)
    config = ServeConfig(queue_texts=2, batch_window_ms=0, max_texts=2)
    with TestClient(create_app(predictor, config)) as c:
        statuses = []

        def call():
            r = c.post("/predict", json={"texts": ["x", "y"]})
            statuses.append((r.status_code, r.headers.get("retry-after")))

        threads = [threading.Thread(target=call) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert (503, "1") in statuses and (200, None) in statuses


def test_timeout_answers_504():
    with TestClient(create_app(SlowPredictor(delay=1.0), ServeConfig(timeout_s=0.2))) as c:
        r = c.post("/predict", json={"texts": ["x"]})
    assert r.status_code == 504 and "longer than" in r.json()["error"]["message"]


def test_bad_limits_are_clear_errors():
    with pytest.raises(LahanError, match="ServeConfig.max_texts must be >= 1"):
        ServeConfig(max_texts=0)


@pytest.mark.slow
def test_a_real_uvicorn_process(trained_tiny, tmp_path):
    with serving(trained_tiny[0]) as base:
        r = httpx.post(f"{base}/predict", json={"texts": ["भारताने सामना जिंकला"]}, timeout=10)
        assert r.status_code == 200 and r.json()["predictions"][0]["label"]
        bad = httpx.post(f"{base}/predict", content=b"{", timeout=10)
        assert bad.status_code == 400


class PickyPredictor(SlowPredictor):
    """Fails on any batch holding the text 'boom'."""

    def logits(self, texts, batch_size=32):
        if "boom" in texts:
            raise RuntimeError("cannot predict this")
        return super().logits(texts, batch_size)


def test_one_failing_request_does_not_fail_its_batch_mates():
    predictor = PickyPredictor(delay=0.02)
    with TestClient(create_app(predictor, ServeConfig(batch_window_ms=100))) as c:
        results = {}

        def call(text):
            results[text] = c.post("/predict", json={"texts": [text]})

        threads = [threading.Thread(target=call, args=(t,)) for t in ("ok1", "boom", "ok2")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert results["ok1"].status_code == 200 and results["ok2"].status_code == 200
    bad = results["boom"]
    assert bad.status_code == 500 and bad.headers["content-type"] == "application/json"
    assert "RuntimeError" in bad.json()["error"]["message"]


def test_zero_window_still_batches_what_is_waiting():
    predictor = SlowPredictor(delay=0.1)
    with TestClient(create_app(predictor, ServeConfig(batch_window_ms=0))) as c:
        threads = [
            threading.Thread(target=lambda: c.post("/predict", json={"texts": ["x"]}))
            for _ in range(10)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sum(predictor.calls) == 10 and len(predictor.calls) < 10


def test_deeply_nested_json_is_400(client):
    r = client.post(
        "/predict", content=b"[" * 200_000, headers={"content-type": "application/json"}
    )
    assert r.status_code in (400, 413)
    small = ServeConfig(max_body_bytes=1_000_000)
    with TestClient(create_app(SlowPredictor(), small)) as c:
        r = c.post("/predict", content=b"[" * 200_000)
    assert r.status_code == 400 and "nested" in r.json()["error"]["message"]


@pytest.mark.slow
def test_a_real_server_under_bounded_load(trained_tiny):
    """800 requests at concurrency 64, good and bad mixed: every one answered, no 5xx,
    every good one 200, every bad one a 4xx."""
    from lahan.deploy.loadtest import run_load

    good = [{"texts": ["भारताने सामना जिंकला"]}, {"texts": ["पुणे शहरात पाऊस", "बाजार"]}]
    bad = [
        b"{",  # malformed JSON -> 400
        {"texts": ["x" * 20_000]},  # over --max-chars -> 413
        b'{"texts": ["\\ud800 lone surrogate"]}',  # unicode garbage -> 422
        {"texts": "not a list"},  # wrong shape -> 422
        {"texts": ["  "]},  # empty text -> 422
    ]
    with serving(trained_tiny[0]) as base:
        result = run_load(base, good * 3 + bad, requests=800, concurrency=64)
    assert result["answered"] == 800
    assert not [s for s in result["statuses"] if s >= 500], result["statuses"]
    refused = result["non_200_payloads"]
    assert set(refused) == set(range(6, 6 + len(bad))), refused  # exactly the bad ones
    assert all(400 <= s < 500 for statuses in refused.values() for s in statuses), refused


@pytest.mark.slow
def test_a_server_that_cannot_start_is_a_clear_error(tmp_path):
    with pytest.raises(LahanError, match="did not start: .*no model folder"):
        with serving(tmp_path / "nowhere"):
            pass
