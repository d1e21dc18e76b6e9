"""Optimum's row of Study 4: dynamic int8 through ONNX Runtime, as Optimum delivers it.

Runs in the ``optimum`` venv (optimum + optimum-onnx + onnxruntime, transformers 4.x),
never imports lahan:

    V/bin/python bench/peers/peer_optimum.py --task int8 --split S --teacher T \\
        --threads 1 --repeats 5 --seed 42 --work W --out ROW.json

Steps: export the teacher folder to ONNX (``ORTModelForSequenceClassification
.from_pretrained(export=True)``, saved under W/onnx-fp32), quantize it with
``ORTQuantizer`` and ``AutoQuantizationConfig.avx2(is_static=False)`` (dynamic int8; the
study's CPU has AVX2 but no AVX-512/VNNI, so avx2 is Optimum's config for it; saved
under W/onnx-int8), load the result with ``ORTModelForSequenceClassification`` on an
ONNX Runtime session with ``intra_op_num_threads = --threads``, and measure it with
common.py next to the fp32 torch teacher (and the fp32 ONNX export) in the same process.
"""

from __future__ import annotations

import time
from pathlib import Path

import common
import torch

QUANTIZATION = {  # AutoQuantizationConfig.avx2 arguments (Optimum's defaults but is_static)
    "is_static": False,
    "use_symmetric_activations": False,
    "use_symmetric_weights": True,
    "per_channel": True,
    "reduce_range": False,
}


def session_options(threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL  # ORT's default
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return options


def onnx_bytes(folder: Path, stem: str) -> int:
    """Bytes of one ONNX model: the .onnx file and its external data file(s), if any."""
    files = [
        folder / f"{stem}.onnx",
        *folder.glob(f"{stem}.onnx_data*"),
        *folder.glob(f"{stem}.onnx.data*"),
    ]
    return sum(f.stat().st_size for f in files if f.is_file())


def ort_logits(model, tokenizer, max_length: int) -> common.LogitsFn:
    """Texts in, logits out through Optimum's ORTModel (tokenizer inside, as hf_logits)."""

    @torch.inference_mode()
    def call(texts: list[str]) -> torch.Tensor:
        enc = tokenizer(
            texts, truncation=True, max_length=max_length, padding=True, return_tensors="pt"
        )
        return torch.as_tensor(model(**enc).logits).float()

    return call


def int8(args, split: common.Split) -> dict:
    from optimum.onnxruntime import ORTModelForSequenceClassification, ORTQuantizer
    from optimum.onnxruntime.configuration import AutoQuantizationConfig

    work = Path(args.work)
    fp32_dir, int8_dir = work / "onnx-fp32", work / "onnx-int8"
    teacher, tokenizer = common.load_teacher(args.teacher)

    started, cpu_started = time.perf_counter(), time.process_time()
    exported = ORTModelForSequenceClassification.from_pretrained(args.teacher, export=True)
    exported.save_pretrained(fp32_dir)
    del exported
    config = AutoQuantizationConfig.avx2(**QUANTIZATION)
    quantizer = ORTQuantizer.from_pretrained(fp32_dir, file_name="model.onnx")
    quantizer.quantize(save_dir=int8_dir, quantization_config=config)
    compress_seconds = time.perf_counter() - started
    compress_cpu_seconds = time.process_time() - cpu_started
    quantized_file = int8_dir / "model_quantized.onnx"
    if not quantized_file.exists():
        raise SystemExit(f"peer_optimum.py: ORTQuantizer wrote no {quantized_file}")

    options = session_options(args.threads)
    model = ORTModelForSequenceClassification.from_pretrained(
        int8_dir,
        file_name=quantized_file.name,
        session_options=options,
        provider="CPUExecutionProvider",
    )
    fp32 = ORTModelForSequenceClassification.from_pretrained(
        fp32_dir,
        file_name="model.onnx",
        session_options=session_options(args.threads),
        provider="CPUExecutionProvider",
    )

    reference = common.hf_logits(teacher, tokenizer, split.max_length)
    fn = ort_logits(model, tokenizer, split.max_length)
    fp32_fn = ort_logits(fp32, tokenizer, split.max_length)
    scores, predicted = common.evaluate(fn, split)
    _, teacher_predicted = common.evaluate(reference, split)
    fp32_scores, fp32_predicted = common.evaluate(fp32_fn, split)
    texts = [r.text for r in split.dev]
    timed = common.speed(
        {"teacher": reference, "optimum": fn, "onnx_fp32": fp32_fn}, texts, (1, 32), args.repeats
    )

    def agree(a: list[int], b: list[int]) -> float:
        return sum(x == y for x, y in zip(a, b, strict=True)) / len(a)

    # the largest logit difference to the teacher over the dev texts (a sanity figure)
    diff = (common.logits_over(fn, texts) - common.logits_over(reference, texts)).abs().max().item()
    return {
        "peer": "optimum",
        "task": args.task,
        "dev": scores,
        "agreement": agree(predicted, teacher_predicted),
        "max_abs_logit_diff": diff,
        "speed": timed["optimum"],
        "speed_onnx_fp32": timed["onnx_fp32"],
        "teacher_speed": timed["teacher"],
        "dev_onnx_fp32": fp32_scores,
        "agreement_onnx_fp32": agree(fp32_predicted, teacher_predicted),
        "params": common.parameters(teacher),
        "size_bytes": onnx_bytes(int8_dir, quantized_file.stem),
        "onnx_fp32_size_bytes": onnx_bytes(fp32_dir, "model"),
        "teacher_size_bytes": common.stored_size(teacher),
        # export + quantization (wall and CPU seconds of this process)
        "compress_seconds": compress_seconds,
        "compress_cpu_seconds": compress_cpu_seconds,
        "threads": args.threads,
        "seed": args.seed,
        "versions": common.versions("optimum", "optimum-onnx", "onnxruntime", "onnx"),
        "notes": {
            "quantization": "ORTQuantizer + AutoQuantizationConfig.avx2 (this CPU has AVX2, "
            "no AVX-512/VNNI): dynamic (IntegerOps, QOperator format), uint8 activations "
            "(asymmetric, per batch), uint8 weights (symmetric, per channel), full 8-bit range; "
            "operators: "
            + ", ".join(str(getattr(o, "value", o)) for o in config.operators_to_quantize),
            "config": {k: str(v) for k, v in vars(config).items()},
            "export": "ORTModelForSequenceClassification.from_pretrained(teacher, export=True), "
            "no ONNX graph optimisation pass (ORTOptimizer) before quantization",
            "session": "onnxruntime CPUExecutionProvider, ORT_ENABLE_ALL, "
            f"intra_op_num_threads={args.threads}, inter_op_num_threads=1",
            "files": {"int8": str(quantized_file), "fp32": str(fp32_dir / "model.onnx")},
        },
    }


def main() -> None:
    args = common.step_args(__doc__).parse_args()
    if args.task != "int8":
        raise SystemExit(f"peer_optimum.py: unknown --task '{args.task}' (int8)")
    split = common.setup(args)
    common.write_row(args.out, int8(args, split))


if __name__ == "__main__":
    main()
