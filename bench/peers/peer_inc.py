"""Intel Neural Compressor's row of Study 4: dynamic int8 (W8A8) by INC 3.x's CPU path.

Runs in the ``inc`` venv (neural-compressor[pt] 3.10 + torchao, transformers 5.x), never
imports lahan:

    V/bin/python bench/peers/peer_inc.py --task int8 --split S --teacher T \\
        --threads 1 --repeats 5 --seed 42 --work W --out ROW.json

INC 3.x's documented dynamic quantization ("PT_DynamicQuant"): ``export`` the model to
an FX graph (torch.export, batch and sequence dims dynamic), ``prepare`` with a
``DynamicQuantConfig`` (torch's X86InductorQuantizer: int8 symmetric weights, uint8
per-batch activations, on nn.Linear), ``convert``, then ``torch.compile`` with
inductor's ``freezing`` on, which is what turns the quantize/dequantize (QDQ) graph into
int8 oneDNN kernels; without it the converted graph runs QDQ in fp32.

Three departures from the documentation's literal snippet, recorded in the row's notes:
- ``DynamicQuantConfig(w_granularity="per_channel")`` (``--w-granularity``): with INC's
  default per-tensor weights, inductor's int8 Linear lowering (torchao's x86 passes
  match only per-channel weight dequantization) never fires and the compiled model runs
  fp32 matmuls with fake quantization (seen: 0 qlinear kernels, 52 fp32 mkldnn linears);
- one forward pass of the prepared model on 32 training texts before ``convert``
  (calibration, as torch's PT2E recipe does): without it the weight observers never
  run and every weight is quantized with the default scale 1.0 (torchao warns "must
  run observer before calling calculate_qparams"), which rounds BERT's weights to zero;
  activations are still quantized per batch at run time (dynamic);
- the compile has a time limit (``--compile-timeout``); when it is hit, or compiling
  fails, the row times the converted graph as it is (eager QDQ) and says so.

Both the compiled int8 model and the eager QDQ graph are timed against the fp32 torch
teacher, with the fp32 teacher compiled the same way as a third reference, so the gain
of compiling can be told apart from the gain of int8.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import sys
import time
from pathlib import Path

# inductor's on-disk caches under this step's work folder: a rerun or another step must
# not find this one's compiled kernels (compile time is part of the row)
for _i, _arg in enumerate(sys.argv):
    if _arg == "--work" and _i + 1 < len(sys.argv):
        _cache = Path(sys.argv[_i + 1]).resolve() / "inductor-cache"
        shutil.rmtree(_cache, ignore_errors=True)  # a rerun compiles afresh too
        os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(_cache))

import common  # noqa: E402
import torch  # noqa: E402

INPUTS = ("input_ids", "attention_mask", "token_type_ids")
CALIBRATION_TEXTS = 32

NOTES = {
    "quantization": (
        "INC 3.x PT2E dynamic W8A8: neural_compressor.torch.export.export (torch.export, "
        "dynamic batch/sequence) -> prepare(DynamicQuantConfig(w_granularity='{granularity}')) "
        "-> one forward pass on {n} training texts (runs the weight observers) -> convert -> "
        "torch.compile with torch._inductor.config.freezing = True (INC's documented CPU "
        "deployment). Weights int8 symmetric {granularity} (minmax), activations uint8 "
        "asymmetric per tensor chosen per batch at run time, on nn.Linear (X86InductorQuantizer); "
        "no AVX-512/VNNI on this CPU, oneDNN runs int8 with AVX2. compile.int8_kernels counts "
        "the oneDNN int8 Linear kernels inductor made (0: the compiled model computes in fp32)."
    ),
    "granularity": (
        "INC's default DynamicQuantConfig() quantizes weights per tensor; torchao's x86 inductor "
        "passes lower only per-channel weight dequantization to oneDNN int8 Linear, so with the "
        "default the compiled model has no int8 kernels (fp32 matmuls with fake quantization). "
        "per_channel is INC's own option (w_granularity) and torch's default X86Inductor config."
    ),
    "calibration": (
        "INC's documented snippet has no forward pass between prepare and convert; then every "
        "weight gets the default scale 1.0 (torchao: 'must run observer before calling "
        "calculate_qparams') and BERT's weights round to 0. One forward pass fixes it."
    ),
    "size": (
        "size_bytes = common.stored_size of the converted GraphModule: INC's PT2E dynamic path "
        "converts with fold_quantize=False (hard-coded in its dynamic entry), so the state dict "
        "keeps fp32 weights and quantizes them in the graph at run time; int8 weights exist only "
        "in memory after torch.compile's freezing. size_bytes_int8_weights = the same minus 3 "
        "bytes per quantized weight element (what int8 storage would take). No model file was "
        "written (INC's own save is torch.export.save of the same fp32 state)."
    ),
    "speed": (
        "'speed' is the compiled int8 model when the compile succeeded (see variant), else the "
        "eager QDQ graph; 'speed_eager_qdq' is the converted graph without compile; "
        "'speed_fp32_compiled' is the fp32 teacher under the same torch.compile (freezing on), to "
        "tell the compiler's gain from int8's. All ratios are to the eager fp32 teacher. Compile "
        "time (first calls on the measured shapes) is in 'compile', not in compress_seconds."
    ),
}


class CompileTimeout(BaseException):  # not Exception: torch must not swallow it
    pass


def graph_logits(model, tokenizer, names: list[str], max_length: int) -> common.LogitsFn:
    """Texts in, logits out for the exported graph (positional inputs, tokenizer inside)."""

    @torch.inference_mode()
    def call(texts: list[str]) -> torch.Tensor:
        enc = tokenizer(
            texts, truncation=True, max_length=max_length, padding=True, return_tensors="pt"
        )
        out = model(*(enc[n] for n in names))
        return (out.logits if hasattr(out, "logits") else out[0]).float()

    return call


def weight_quant_nodes(model: torch.fx.GraphModule) -> list:
    """The quantize nodes with constant parameters: the weights' (per tensor or per
    channel); activations are quantized by the ``.tensor`` overload with run-time qparams."""
    targets = (
        "quantized_decomposed.quantize_per_tensor.default",
        "quantized_decomposed.quantize_per_channel.default",
    )
    return [n for n in model.graph.nodes if n.op == "call_function" and str(n.target) in targets]


def unobserved(model: torch.fx.GraphModule, node) -> bool:
    """Whether a weight's quantize node has the default parameters an observer returns when
    it never saw data (scale 1.0, zero point 0)."""

    def value(arg):
        return getattr(model, arg.target) if isinstance(arg, torch.fx.Node) else torch.tensor(arg)

    scale, zero_point = value(node.args[1]), value(node.args[2])
    return bool((scale == 1.0).all() and (zero_point == 0).all())


def int8_weight_bytes(model: torch.fx.GraphModule) -> tuple[int, int]:
    """(number of quantized weight tensors, their elements): what int8 storage would save."""
    seen, elements = set(), 0
    params = dict(model.named_parameters()) | dict(model.named_buffers())
    for node in weight_quant_nodes(model):
        source = node.args[0]
        if source.op == "get_attr" and source.target not in seen:
            seen.add(source.target)
            tensor = params.get(source.target)
            if tensor is None:
                tensor = getattr(model, source.target)
            elements += tensor.numel()
    return len(seen), elements


def with_time_limit(seconds: int, work):
    """Run ``work()``; raise CompileTimeout when it takes longer than ``seconds``."""

    def alarm(signum, frame):
        raise CompileTimeout(f"over {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        return work()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def compile_and_warm(name: str, model, make_fn, warm_batches: list[list[str]], seconds: int, log):
    """torch.compile ``model`` (inductor, freezing on) and run it on ``warm_batches`` (the
    shapes the measurements use) under a time limit. Returns (fn or None, record)."""
    import torch._dynamo
    from torch._dynamo.utils import counters

    graphs_before = int(counters["stats"].get("unique_graphs", 0))
    inductor_before = dict(counters["inductor"])
    started, cpu_started = time.perf_counter(), time.process_time()
    children_started = resource.getrusage(resource.RUSAGE_CHILDREN)
    record: dict = {"timeout_s": seconds}
    try:
        compiled = torch.compile(model)
        fn = make_fn(compiled)

        def warm():
            for batch in warm_batches:
                fn(batch)

        with_time_limit(seconds, warm)
        record["ok"] = True
    except CompileTimeout as e:
        fn, record["ok"], record["error"] = None, False, f"compile timed out ({e})"
    except Exception as e:  # the documented path failing here is a result, not a crash
        fn, record["ok"], record["error"] = None, False, f"{type(e).__name__}: {str(e)[:500]}"
    record["seconds"] = time.perf_counter() - started
    record["cpu_seconds"] = time.process_time() - cpu_started
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    # the C++ compiler runs in child processes: their CPU time is not in cpu_seconds
    record["children_cpu_seconds"] = (children.ru_utime + children.ru_stime) - (
        children_started.ru_utime + children_started.ru_stime
    )
    record["graphs"] = int(counters["stats"].get("unique_graphs", 0)) - graphs_before
    record["inductor_counters"] = {  # the int8 pattern rewrites (qlinear: oneDNN int8 Linear)
        k: int(v) - int(inductor_before.get(k, 0))
        for k, v in counters["inductor"].items()
        if k.startswith(("qlinear", "qconv", "dequant", "quant"))
    }
    record["int8_kernels"] = record["inductor_counters"].get(
        "qlinear_unary_lower_count", 0
    ) + record["inductor_counters"].get("qlinear_binary_lower_count", 0)
    log(
        f"compile {name}: {'ok' if record['ok'] else record['error']} "
        f"in {record['seconds']:.1f} s, {record['graphs']} graph(s), {record['inductor_counters']}"
    )
    if not record["ok"]:
        torch._dynamo.reset()
    return fn, record


def int8(args, split: common.Split) -> dict:
    from neural_compressor.torch.export import export
    from neural_compressor.torch.quantization import DynamicQuantConfig, convert, prepare
    from torch.export import Dim

    def log(message: str) -> None:
        print(f"[peer_inc] {message}", flush=True)

    teacher, tokenizer = common.load_teacher(args.teacher)
    texts = [r.text for r in split.dev]
    calibration = [r.text for r in split.train[:CALIBRATION_TEXTS]] or texts[:CALIBRATION_TEXTS]

    started, cpu_started = time.perf_counter(), time.process_time()
    enc = tokenizer(
        calibration[:4],
        truncation=True,
        max_length=split.max_length,
        padding=True,
        return_tensors="pt",
    )
    names = [n for n in INPUTS if n in enc]
    batch, seq = Dim("batch", min=1, max=4096), Dim("seq", min=1, max=split.max_length)
    exported = export(
        teacher,
        tuple(enc[n] for n in names),
        dynamic_shapes=tuple({0: batch, 1: seq} for _ in names),
    )
    config = DynamicQuantConfig(w_granularity=args.w_granularity)
    prepared = prepare(exported, quant_config=config)
    calibrate = graph_logits(prepared, tokenizer, names, split.max_length)
    for i in range(0, len(calibration), 8):
        calibrate(calibration[i : i + 8])
    model = convert(prepared)
    compress_seconds = time.perf_counter() - started
    compress_cpu_seconds = time.process_time() - cpu_started

    quant_nodes = weight_quant_nodes(model)
    default_scale = [n.name for n in quant_nodes if unobserved(model, n)]
    if not quant_nodes:
        raise SystemExit(
            "peer_inc.py: INC's convert left no quantized weight in the graph (nothing quantized)"
        )
    if default_scale:
        raise SystemExit(
            f"peer_inc.py: {len(default_scale)} weight(s) quantized with the default scale 1.0 "
            f"(observers never ran), e.g. {default_scale[:3]}: the model would be garbage"
        )
    n_weights, weight_elements = int8_weight_bytes(model)
    log(f"quantized {n_weights} Linear weights in {compress_seconds:.1f} s")

    reference = common.hf_logits(teacher, tokenizer, split.max_length)
    eager = graph_logits(model, tokenizer, names, split.max_length)
    # the shapes the measurements call: batch 1 (speed), 32 and the last partial batch
    # (evaluate, speed); the first calls compile, later ones must not recompile
    warm = [
        texts[:1],
        texts[1:2],
        texts[:32],
        texts[32:64] or texts[:8],
        texts[(len(texts) // 32) * 32 :] or texts[:3],
    ]
    compiled_fn, compiled = compile_and_warm(
        "int8",
        model,
        lambda m: graph_logits(m, tokenizer, names, split.max_length),
        warm,
        args.compile_timeout,
        log,
    )
    fp32_fn, fp32_compiled = (None, None)
    if args.compile_fp32:
        fp32_fn, fp32_compiled = compile_and_warm(
            "fp32 teacher",
            teacher,
            lambda m: common.hf_logits(m, tokenizer, split.max_length),
            warm,
            args.compile_timeout,
            log,
        )

    fn = compiled_fn or eager
    scores, predicted = common.evaluate(fn, split)
    _, teacher_predicted = common.evaluate(reference, split)
    eager_scores, eager_predicted = (
        common.evaluate(eager, split) if compiled_fn else (scores, predicted)
    )

    def agree(a: list[int], b: list[int]) -> float:
        return sum(x == y for x, y in zip(a, b, strict=True)) / len(a)

    models = {"teacher": reference, "inc": fn}
    if compiled_fn:
        models["eager_qdq"] = eager
    if fp32_fn:
        models["fp32_compiled"] = fp32_fn
    log(f"timing {list(models)}")
    from torch._dynamo.utils import counters

    graphs_before = int(counters["stats"].get("unique_graphs", 0))
    timed = common.speed(models, texts, (1, 32), args.repeats)
    # graphs compiled while timing (a new shape): their compile time is in the timings
    recompiled = int(counters["stats"].get("unique_graphs", 0)) - graphs_before
    diff = (common.logits_over(fn, texts) - common.logits_over(reference, texts)).abs().max().item()

    teacher_size = common.stored_size(teacher)
    size = common.stored_size(model)
    return {
        "peer": "inc",
        "task": args.task,
        "variant": (
            "eager_qdq"
            if not compiled_fn
            else "compiled"
            if compiled["int8_kernels"]
            else "compiled_without_int8_kernels"
        ),
        "dev": scores,
        "agreement": agree(predicted, teacher_predicted),
        "max_abs_logit_diff": diff,
        "speed": timed["inc"],
        "speed_eager_qdq": timed.get("eager_qdq", timed["inc"]),
        "speed_fp32_compiled": timed.get("fp32_compiled"),
        "teacher_speed": timed["teacher"],
        "dev_eager_qdq": eager_scores,
        "agreement_eager_qdq": agree(eager_predicted, teacher_predicted),
        "compile": compiled,
        "compile_fp32": fp32_compiled,
        "graphs_compiled_while_timing": recompiled,
        "params": common.parameters(teacher),
        "size_bytes": size,
        # what the same state would take with the quantized Linear weights stored as int8
        # (INC does not store them so: see notes); scales are graph constants
        "size_bytes_int8_weights": size - 3 * weight_elements,
        "quantized_weights": n_weights,
        "teacher_size_bytes": teacher_size,
        # export + prepare + one calibration pass + convert (wall and CPU seconds); the
        # torch.compile that makes it fast is in "compile"
        "compress_seconds": compress_seconds,
        "compress_cpu_seconds": compress_cpu_seconds,
        "threads": args.threads,
        "seed": args.seed,
        "versions": common.versions("neural-compressor", "torchao"),
        "notes": {
            **{
                k: v.format(granularity=args.w_granularity, n=len(calibration))
                for k, v in NOTES.items()
            },
            "config": {k: str(v) for k, v in vars(config).items() if not k.startswith("_")},
        },
    }


def main() -> None:
    parser = common.step_args(__doc__)
    parser.add_argument(
        "--w-granularity",
        choices=("per_channel", "per_tensor"),
        default="per_channel",
        help="DynamicQuantConfig weight granularity (INC's default per_tensor: no int8 kernels)",
    )
    parser.add_argument(
        "--compile-timeout", type=int, default=1800, help="seconds for each torch.compile"
    )
    parser.add_argument(
        "--no-compile-fp32",
        dest="compile_fp32",
        action="store_false",
        help="skip compiling the fp32 teacher as a reference",
    )
    args = parser.parse_args()
    if args.task != "int8":
        raise SystemExit(f"peer_inc.py: unknown --task '{args.task}' (int8)")
    split = common.setup(args)
    import torch._inductor.config as inductor

    # INC's documented setting: weights become constants, QDQ patterns -> int8 kernels
    inductor.freezing = True
    inductor.cpp.threads = args.threads
    inductor.compile_threads = args.threads
    common.write_row(args.out, int8(args, split))


if __name__ == "__main__":
    main()
