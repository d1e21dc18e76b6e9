"""Compress a classifier: any combination of pruning, distillation and precision.

Order (the only one that makes sense): choose the student (the teacher itself, a
shallower copy, or another model) -> train it once, with movement pruning as a
plug-in and distillation as the loss, at the training precision -> bake the masks
and shrink to a dense model (one-shot pruning bakes and shrinks before training, so
the epochs train the small model) -> optionally trim the vocabulary -> evaluate in fp32
and at the inference precision -> time it against the teacher on the same batches
in the same run -> save one model folder (with ``result.json`` inside).

``lahan prune`` and ``lahan distill`` are this recipe with one method switched on.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass
from pathlib import Path

from accelerate import Accelerator
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from lahan.batches import encode
from lahan.checkpoint import TrainResult, check_resume, remove_checkpoint
from lahan.config import CompressConfig, config_dict
from lahan.data import Dataset, Record, data_summary, load_dataset
from lahan.deploy.variants import variant_report
from lahan.distill import Distiller, Student, make_student, teacher_outputs
from lahan.errors import OptionError
from lahan.evaluate import evaluate_records, predict_logits, summary, write_report_files
from lahan.io import check_output_folder
from lahan.measure import compare_latency, count_parameters, weights_size_on_disk
from lahan.models import label_ids, load_model, model_labels, resolve_label_map, save_model
from lahan.precision import autocast_for
from lahan.pretrain import read_corpus
from lahan.prune import shrink_to_dense, structure
from lahan.prune.methods import Inputs, PruningMethod, pruning_method
from lahan.prune.movement import MovementPruning, describe
from lahan.prune.plot import plot_structure
from lahan.prune.vocab import check_trimmable, trim_vocabulary
from lahan.records import RESULT_FILE, CompressResult, ModelRecord
from lahan.train import cross_entropy, make_accelerator, train


def _make_distiller(
    cfg: CompressConfig,
    student: Student,
    teacher,
    teacher_tok,
    train_texts: list[str],
    accelerator: Accelerator,
) -> tuple[Distiller, dict]:
    """The distillation loss, with the teacher's outputs from the cache unless told not to."""
    dcfg = cfg.distill
    assert dcfg is not None
    if dcfg.uses_attention:  # attention maps need the eager implementation
        teacher.set_attn_implementation("eager")
        student.model.set_attn_implementation("eager")
        s_heads = student.model.config.num_attention_heads
        if s_heads != teacher.config.num_attention_heads:
            raise OptionError(
                "attention_weight",
                f" needs as many heads in the student ({s_heads}) as in "
                f"the teacher ({teacher.config.num_attention_heads}): use --hidden-weight",
            )
    cached, info = None, {"mode": "live", "reason": ""}
    if not dcfg.cache:
        info["reason"] = "--no-cache: the teacher runs on every batch"
    elif dcfg.uses_attention:
        info["reason"] = "attention maps are not cached: the teacher runs on every batch"
    else:
        hidden = sorted({t for _, t in student.layer_map}) if dcfg.uses_hidden else []
        encodings = encode(teacher_tok, train_texts, cfg.train.max_length).encodings

        def load():
            return teacher_outputs(
                teacher,
                teacher_tok,
                encodings,
                dcfg.resolved_cache_dir(),
                hidden,
                batch_size=cfg.train.eval_batch_size,
                progress=cfg.train.progress,
            )

        if accelerator.is_main_process:  # one process computes; the others then hit
            cached, info = load()
        accelerator.wait_for_everyone()
        if not accelerator.is_main_process:
            cached, info = load()
        info = {"mode": "cached", **info}
    distiller = Distiller(
        dcfg,
        layer_map=student.layer_map,
        student_width=student.model.config.hidden_size,
        teacher_width=teacher.config.hidden_size,
        cached=cached,
        teacher=None if cached else teacher,
        label_order=student.label_order,
        autocast=accelerator.autocast,
        device=accelerator.device,
    )
    if distiller.param_groups() and accelerator.num_processes > 1:
        raise OptionError(
            "hidden_weight",
            " with a student of another width needs a projection that is not "
            "synchronised across processes: run it in one process",
        )
    return distiller, info


def run_compress(cfg: CompressConfig, made_by: str | None = None) -> ModelRecord:
    """Apply ``cfg``'s combination to its teacher; save the result to ``cfg.out``.

    Returns the record written to ``out/lahan.json``; ``out/result.json`` holds the
    summary row (accuracy, macro-F1, train time, params, size, latency ratio).

    The steps, in order: prepare (data, teacher, student, label maps), train (pruning
    and / or distillation plug-ins in the one loop), finish (bake and shrink the masks,
    trim the vocabulary), measure (dev scores at fp32 and at the precision, speed
    against the teacher), save.
    """
    job = _prepare(cfg)
    trained = _train(cfg, job) if cfg.trains else _Trained(job.student.model, job.student.tokenizer)
    if cfg.trim.enabled:
        _trim(cfg, job, trained)
    record, final_dev = _measure(cfg, job, trained)
    record.made_by = made_by or cfg.method  # the command (or job) that made it
    _save(cfg, job, trained, record, final_dev)
    record.table = describe(trained.sparsity) if trained.sparsity else ""
    if record.size_on_disk is not None:  # measured while saving (by the main process)
        record.result = CompressResult.from_record(record)
    return record


@dataclass
class _Job:
    """What every step of a compress run reads: the run's folders and process set-up,
    the data, the teacher and the student with their label maps."""

    out: Path
    checkpoint: Path
    accelerator: Accelerator
    dataset: Dataset
    teacher: PreTrainedModel
    teacher_tok: PreTrainedTokenizerBase
    teacher_record: ModelRecord
    label_map: dict[str, str]  # dataset label -> teacher label
    student: Student
    student_map: dict[str, str]  # dataset label -> student label
    teacher_dev: dict  # the teacher's dev scores, measured once before training
    teacher_params: dict

    @property
    def train_rows(self) -> list[Record]:
        return self.dataset.split("train")

    @property
    def dev_rows(self) -> list[Record]:
        return self.dataset.split("dev")

    def dev_report(self, cfg, model, tokenizer, mapping=None, autocast=None) -> dict:
        """Metrics on dev (by default with the student's labels)."""
        return evaluate_records(
            model,
            tokenizer,
            self.dev_rows,
            mapping or self.student_map,
            cfg.train.eval_batch_size,
            cfg.train.max_length,
            **({"autocast": autocast} if autocast else {}),
        )


@dataclass
class _Pruned:
    """What pruning kept, measured as the masks were baked in and the model shrunk:
    after training for movement pruning, before it for one-shot pruning."""

    model: PreTrainedModel  # the shrunk, dense model
    sparsity: dict  # achieved, per layer
    kept: dict  # heads and neurons kept
    masked_dev: dict  # dev with the masks baked in, before shrinking
    shrunk_dev: dict  # ... after shrinking: equal, shrinking is exact


@dataclass
class _Trained:
    """The model to save and what training and shrinking it reported."""

    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    result: TrainResult | None = None
    cache_info: dict | None = None
    pruned: _Pruned | None = None
    vocab_report: dict | None = None

    @property
    def sparsity(self) -> dict | None:
        return self.pruned.sparsity if self.pruned else None

    @property
    def kept(self) -> dict | None:
        return self.pruned.kept if self.pruned else None


def _prepare(cfg: CompressConfig) -> _Job:
    out = Path(cfg.out)
    check_output_folder(out)
    checkpoint = check_resume(out, cfg.resume)
    accelerator = make_accelerator(cfg.train)  # fails fast on an impossible precision
    dataset = load_dataset(cfg.data)
    teacher, teacher_tok, teacher_record = load_model(cfg.teacher, cfg.teacher_labels)
    teacher.to(accelerator.device)
    label_map = resolve_label_map(model_labels(teacher), dataset.labels, cfg.relabel)
    if cfg.trains:
        train_texts = [r.text for r in dataset.split("train")]
        student = make_student(
            cfg.student, teacher, teacher_tok, train_texts, cfg.train.max_length, cfg.relabel
        )
    else:  # precision only: the teacher itself, run at another precision
        student = Student(teacher, teacher_tok, kind="teacher", description="the teacher")
    if cfg.trim.enabled:  # refuse an impossible trim before training, not after
        check_trimmable(student.tokenizer, cfg.trim.keep_top_n)
        for path in cfg.trim.text_files:
            read_corpus(path, "trim_vocab_text")  # an unreadable file fails now, not after
    # Dataset label -> student label, through the teacher's label ids (a student may
    # order its outputs differently: student.label_order).
    order = student.label_order
    to_student = {t: j for j, t in enumerate(order)} if order else None
    student_labels = model_labels(student.model)
    student_map = {}
    for label in dataset.labels:
        t = teacher.config.label2id[label_map[label]]
        student_map[label] = student_labels[to_student[t] if to_student else t]
    job = _Job(
        out, checkpoint, accelerator, dataset, teacher, teacher_tok, teacher_record,
        label_map, student, student_map, teacher_dev={}, teacher_params=count_parameters(teacher),
    )  # fmt: skip
    job.teacher_dev = job.dev_report(cfg, teacher, teacher_tok, label_map)
    return job


def _train(cfg: CompressConfig, job: _Job) -> _Trained:
    """Train the student with the pruning / distillation plug-ins, then make the kept
    structure real: bake the masks, shrink to a dense model, trim the vocabulary.
    One-shot pruning shrinks first, so the epochs train the small model."""
    student, accelerator = job.student, job.accelerator
    tokenizer = student.tokenizer
    train_texts = [r.text for r in job.train_rows]
    targets = lambda rows: label_ids(rows, model_labels(student.model), job.student_map)  # noqa: E731
    plugins: list = []
    loss_fn = cross_entropy
    pruner = cache_info = pruned = None
    method = pruning_method(cfg.prune) if cfg.prune else None
    if method is not None and method.one_shot:
        pruned = _prune_once(cfg, job, method, targets(job.train_rows))
        student.model = pruned.model  # the distiller and the loop take the small model
    elif method is not None:  # the masks are learned while the model trains
        pruner = method.start(student.model, cfg.prune, None)
        plugins.append(pruner)
    model = student.model
    if cfg.distill:
        loss_fn, cache_info = _make_distiller(
            cfg, student, job.teacher, job.teacher_tok, train_texts, accelerator
        )
        plugins.append(loss_fn)
    result = train(
        model,
        tokenizer,
        train_texts,
        targets(job.train_rows),
        [r.text for r in job.dev_rows],
        targets(job.dev_rows),
        cfg.train,
        from_scratch=student.from_scratch,
        loss_fn=loss_fn,
        plugins=plugins,
        accelerator=accelerator,
        checkpoint=job.checkpoint,
        resume=cfg.resume,
        # everything that shapes the run, bar where it is written and how it is measured
        settings={
            k: v
            for k, v in asdict(cfg).items()
            # method only chose the defaults, which cfg.train (hashed by train()) holds
            # trim too: it runs after training, so a changed corpus does not block --resume
            if k not in ("out", "resume", "latency", "train", "method", "trim")
        },
    )
    trained = _Trained(
        accelerator.unwrap_model(model, keep_fp32_wrapper=False), tokenizer, result, cache_info
    )
    if pruner is not None:
        trained.pruned = _shrink(cfg, job, pruner, trained.model)
        trained.model = trained.pruned.model
    elif pruned is not None:
        trained.pruned = pruned  # measured before training; trained.model is the trained one
    return trained


def _trim(cfg: CompressConfig, job: _Job, trained: _Trained) -> None:
    """Keep the vocabulary the training texts (and --trim-vocab-text files) use, in
    place; dev texts are not used to choose, only to measure how many now split
    differently."""
    corpus = [text for path in cfg.trim.text_files for text in read_corpus(path, "trim_vocab_text")]
    # trimming edits the model in place: with nothing trained, that model is the teacher,
    # which is still measured against the result
    model = copy.deepcopy(trained.model) if trained.model is job.teacher else trained.model
    trained.model, trained.tokenizer, trained.vocab_report = trim_vocabulary(
        model,
        trained.tokenizer,
        [r.text for r in job.train_rows],
        cfg.trim.keep_top_n,
        cfg.train.max_length,
        corpus=corpus,
        heldout=[r.text for r in job.dev_rows],
    )


def _prune_once(
    cfg: CompressConfig, job: _Job, method: PruningMethod, train_labels: list[int]
) -> _Pruned:
    """One-shot pruning: choose the student's units (taylor: from its loss gradients),
    keep the best and shrink it, before any training."""
    if job.student.from_scratch:
        raise OptionError(
            "method",
            f" {cfg.prune.method} chooses units in a trained model, and a student "
            "built from scratch (--student preset:...) has random weights: prune it with "
            "--method hard while it trains, or prune the teacher (no --student)",
        )
    model = job.student.model
    model.to(job.accelerator.device)
    texts = [r.text for r in job.train_rows]
    inputs = Inputs(job.student.tokenizer, texts, train_labels, cfg.train, job.accelerator)
    return _shrink(cfg, job, method.start(model, cfg.prune, inputs), model)


def _shrink(cfg: CompressConfig, job: _Job, pruner: MovementPruning, model) -> _Pruned:
    """Bake ``pruner``'s masks into ``model`` and shrink it to a dense model, measuring
    dev before and after shrinking (equal: shrinking is exact)."""
    tokenizer = job.student.tokenizer
    pruner.bake()
    sparsity = pruner.sparsity_report()
    masked_dev = job.dev_report(cfg, model, tokenizer)
    kept = structure(model)
    shrunk = shrink_to_dense(model)
    return _Pruned(shrunk, sparsity, kept, masked_dev, job.dev_report(cfg, shrunk, tokenizer))


def _measure(cfg: CompressConfig, job: _Job, trained: _Trained) -> tuple[ModelRecord, dict]:
    """Dev scores of the result (fp32 and at the precision), parameters, and its speed
    against the teacher: (the record less its sizes on disk, the full fp32 dev report)."""
    model, tokenizer, precision = trained.model, trained.tokenizer, cfg.train.precision
    device = job.accelerator.device
    model.eval()
    final_dev = job.dev_report(cfg, model, tokenizer)  # fp32, the weights as saved
    autocast = autocast_for(precision, device)
    dev_at_precision = precision_variant = None
    if precision != "fp32":
        dev_at_precision = job.dev_report(cfg, model, tokenizer, autocast=autocast)
        precision_variant = _precision_variant(
            cfg, model, tokenizer, job.dev_rows, job.student_map, autocast
        )
    # Speed: the teacher in fp32 vs the result at its precision, same batches, interleaved.
    latency = compare_latency(
        {"teacher": job.teacher, "compressed": model},
        {"teacher": job.teacher_tok, "compressed": tokenizer},
        [r.text for r in job.dev_rows][: cfg.latency.texts],
        batch_size=cfg.latency.batch_size,
        max_length=cfg.train.max_length,
        repeats=cfg.latency.repeats,
        autocasts={"compressed": autocast},
    )
    speedup = latency["teacher"]["batch_median_s"] / latency["compressed"]["batch_median_s"]
    configs = [c for c in (cfg.data, cfg.train, cfg.prune, cfg.distill, cfg.trim) if c]
    pruned, one_shot = trained.pruned, cfg.prune is not None and cfg.prune.one_shot
    student = job.student
    record = ModelRecord(
        configuration=cfg.name(),
        teacher=str(cfg.teacher),
        teacher_data_fingerprint=job.teacher_record.data_fingerprint,
        student={"spec": cfg.student, "kind": student.kind, "description": student.description},
        config=config_dict(*configs) | {"student": cfg.student, "relabel": cfg.relabel},
        data=data_summary(job.dataset),
        train=trained.result.to_dict() if trained.result else None,
        distill_cache=trained.cache_info,
        inference_precision=precision,
        precision_variant=precision_variant,  # vs fp32 on dev: deltas, agreement
        sparsity=trained.sparsity,
        structure=trained.kept,
        vocabulary=trained.vocab_report,
        params={
            "teacher": job.teacher_params,
            "compressed": count_parameters(model),
        },
        metrics={
            "dev": summary(final_dev),
            "dev_teacher": summary(job.teacher_dev),
            "dev_at_precision": summary(dev_at_precision) if dev_at_precision else None,
            "dev_masked": summary(pruned.masked_dev) if pruned else None,
            "dev_shrunk": summary(pruned.shrunk_dev) if pruned else None,
            # one-shot pruning: the pruned model as the pruning left it, before training
            "dev_before_training": summary(pruned.shrunk_dev) if one_shot else None,
        },
        latency=latency
        | {
            "speedup_vs_teacher": speedup,
            "device": str(device),
            "precision": precision,
            # the model's forward passes on ready batches: tokenisation is not timed here
            # (a sweep's speed-ups come from `bench`, which times texts in, logits out)
            "tokenization_timed": False,
        },
    )
    return record, final_dev


def _save(
    cfg: CompressConfig, job: _Job, trained: _Trained, record: ModelRecord, final_dev: dict
) -> None:
    """The model folder (weights, lahan.json, eval/ reports, result.json), written whole
    by the main process; then the checkpoint goes."""
    params_teacher = job.teacher_params
    teacher_bytes = (
        weights_size_on_disk(cfg.teacher)
        if Path(cfg.teacher).is_dir()
        else 4 * params_teacher["total"]  # a hub teacher: its fp32 size
    )

    def write_extra(folder: Path) -> None:
        write_report_files(final_dev, folder / "eval", "dev")
        if trained.kept is not None and cfg.prune is not None:
            plot_structure(
                trained.kept,
                folder / "eval" / "structure.png",
                f"kept after {cfg.prune.sparsity:.0%} {cfg.prune.granularity} pruning",
            )
            (folder / "eval" / "sparsity.txt").write_text(
                describe(trained.sparsity) + "\n", encoding="utf-8"
            )
        size = weights_size_on_disk(folder)
        record.size_on_disk = {
            "teacher_bytes": teacher_bytes,
            "compressed_bytes": size,
            "ratio": size / teacher_bytes if teacher_bytes else None,
        }
        CompressResult.from_record(record).write(folder / RESULT_FILE)

    if job.accelerator.is_main_process:
        save_model(trained.model, trained.tokenizer, job.out, record, write_extra=write_extra)
        remove_checkpoint(job.checkpoint)  # the model is saved: no longer needed
    job.accelerator.wait_for_everyone()


def _precision_variant(cfg, model, tokenizer, rows, label_map, autocast) -> dict:
    """Dev accuracy / macro-F1 at the precision, their deltas vs fp32, and agreement."""
    texts = [r.text for r in rows]
    y = label_ids(rows, model_labels(model), label_map)
    size, length = cfg.train.eval_batch_size, cfg.train.max_length
    reference = predict_logits(model, tokenizer, texts, size, length)
    logits = predict_logits(model, tokenizer, texts, size, length, autocast)
    return variant_report(y, reference, logits, model.config.num_labels)
