"""TextBrewer's distillation of the teacher into the study's 2-layer student (study 4).

Runs in TextBrewer's own venv (textbrewer 0.2.1.post1 with transformers 5), never
imports lahan. The student folder is the same 2-layer copy of the teacher that
``lahan compress --distill --student layers:2`` starts from, so the row compares the two
distillers from the same weights.

TextBrewer's plain logits path, ``BasicDistiller`` (``GeneralDistiller`` only adds
intermediate matches, which lahan's default loss does not use), set to lahan's default
loss (DistillConfig: T = 2, alpha = 0.1):

    lahan:      0.1 * CE(student, labels) + 0.9 * T^2 * KL(p_T^T || p_S^T)
    TextBrewer: hard_label_weight * sum(adaptor 'losses') + kd_loss_weight * kd_ce_loss

TextBrewer's ``kd_ce_loss`` is the soft cross-entropy -sum p_T^T log p_S^T at
temperature T, averaged over the batch, with no T^2 factor; it differs from the KL by the
teacher's entropy, a constant for the student, so the gradients are lahan's when
kd_loss_weight = 0.9 * T^2 = 3.6 and hard_label_weight = 0.1 (the hard term is the
student's own cross-entropy, returned by transformers when the batch holds ``labels``).

Optimisation as common.finetune / lahan's TrainConfig: AdamW (weight decay 0.01, none on
biases and LayerNorm), lr --lr, 10% linear warm-up then linear decay (transformers'
get_linear_schedule_with_warmup, passed as TextBrewer's scheduler_class/scheduler_args),
gradient norm clipped at 1.0, batch 32 shuffled with --seed each epoch, dynamic padding,
truncation at split.max_length; dev macro-F1 after every epoch (TextBrewer's callback)
and the best epoch's weights kept.

    V/bin/python bench/peers/peer_textbrewer.py --split S --teacher T --task distill \\
        --student S0 --epochs 6 --lr 5e-4 --work W --out ROW.json
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import common
import torch

PEER = "textbrewer"
TEMPERATURE = 2.0  # lahan DistillConfig.temperature
ALPHA = 0.1  # lahan DistillConfig.alpha: weight of the hard-label cross-entropy


def distill(args, split: common.Split, teacher, tokenizer, student) -> dict:
    from textbrewer import BasicDistiller, DistillationConfig, TrainingConfig
    from transformers import get_linear_schedule_with_warmup

    common.seed_everything(args.seed)
    texts = [r.text for r in split.train]
    labels = [r.label for r in split.train]

    def collate(index: list[int]) -> dict:
        enc = tokenizer(
            [texts[i] for i in index],
            truncation=True,
            max_length=split.max_length,
            padding=True,
            return_tensors="pt",
        )
        # a plain dict: TextBrewer tests ``type(batch) is dict`` and would call
        # model(*batch) on a BatchEncoding
        batch = dict(enc)
        batch["labels"] = torch.tensor([labels[i] for i in index])
        return batch

    loader = torch.utils.data.DataLoader(
        list(range(len(texts))),
        batch_size=args.batch_size,
        shuffle=True,  # RandomSampler: torch.randperm with this generator, as common.finetune
        generator=torch.Generator().manual_seed(args.seed),
        collate_fn=collate,
    )
    steps_per_epoch = len(loader)
    assert steps_per_epoch == math.ceil(len(texts) / args.batch_size)
    total = steps_per_epoch * args.epochs
    warmup = int(0.1 * total)

    optimizer = common.adamw(student, args.lr)

    output_dir = Path(args.work) / "textbrewer_checkpoints"
    train_config = TrainingConfig(
        device="cpu",
        output_dir=str(output_dir),
        log_dir=None,  # no tensorboard
        gradient_accumulation_steps=1,
        ckpt_frequency=1,  # save (and call back) once per epoch, at its end
        ckpt_epoch_frequency=1,
    )
    distill_config = DistillationConfig(
        temperature=TEMPERATURE,
        kd_loss_type="ce",
        kd_loss_weight=(1 - ALPHA) * TEMPERATURE**2,  # kd_ce_loss has no T^2 factor
        hard_label_weight=ALPHA,
        intermediate_matches=None,
        is_caching_logits=False,  # its cache freezes the batches; lahan reshuffles per epoch
    )

    def adaptor_teacher(batch, outputs):
        return {"logits": outputs.logits}

    def adaptor_student(batch, outputs):
        # outputs.loss: transformers' cross-entropy against batch["labels"]
        return {"logits": outputs.logits, "losses": outputs.loss}

    history: list[dict] = []
    best: list = [None]

    def callback(model, step):
        model.eval()
        scores, _ = common.evaluate(common.hf_logits(model, tokenizer, split.max_length), split)
        epoch = step // steps_per_epoch
        history.append(
            {
                "epoch": epoch,
                "step": step,
                "dev_accuracy": scores["accuracy"],
                "dev_macro_f1": scores["macro_f1"],
            }
        )
        print(
            f"epoch {epoch}: dev accuracy {scores['accuracy']:.4f} "
            f"macro-F1 {scores['macro_f1']:.4f}",
            flush=True,
        )
        if best[0] is None or scores["macro_f1"] > best[0][0]:
            best[0] = (
                scores["macro_f1"],
                epoch,
                {k: v.detach().clone() for k, v in model.state_dict().items()},
            )
        # TextBrewer puts the student back in train mode after the callback

    distiller = BasicDistiller(
        train_config, distill_config, teacher, student, adaptor_teacher, adaptor_student
    )
    # teacher.eval(), student.train(), restored on exit; --train-threads while training
    with distiller, common.torch_threads(args.train_threads):
        distiller.train(
            optimizer,
            loader,
            num_epochs=args.epochs,
            scheduler_class=get_linear_schedule_with_warmup,
            scheduler_args={"num_warmup_steps": warmup, "num_training_steps": total},
            max_grad_norm=1.0,
            callback=callback,
        )
    student.load_state_dict(best[0][2])
    student.eval()
    teacher.eval()
    return {
        "epochs": history,
        "best_epoch": best[0][1],
        "steps_per_epoch": steps_per_epoch,
        "warmup_steps": warmup,
        "total_steps": total,
        "checkpoints_dir": str(output_dir),
    }


def main(argv: list[str] | None = None) -> int:
    parser = common.step_args(__doc__)
    parser.add_argument("--student", required=True, help="the student's initial model folder")
    args = parser.parse_args(argv)
    if args.task != "distill":
        raise SystemExit(f"peer_textbrewer.py: unknown --task {args.task!r} (only 'distill')")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    split = common.setup(args)
    teacher, tokenizer = common.load_teacher(args.teacher)
    student, student_tokenizer = common.load_teacher(args.student)
    if student_tokenizer.get_vocab() != tokenizer.get_vocab():
        raise SystemExit("the student's tokenizer is not the teacher's")
    n_labels = len(split.labels)
    if student.config.num_labels != n_labels or teacher.config.num_labels != n_labels:
        raise SystemExit(f"teacher/student heads do not have the split's {n_labels} labels")

    started, cpu_started = time.perf_counter(), time.process_time()
    trained = distill(args, split, teacher, tokenizer, student)
    compress_seconds = time.perf_counter() - started
    compress_cpu_seconds = time.process_time() - cpu_started
    # TextBrewer torch.save()s the student's state_dict (gs{step}.pkl) after every epoch;
    # nothing reads them (never pickle-loaded), so drop them to spare the disk
    removed = 0
    for ckpt in Path(trained["checkpoints_dir"]).glob("gs*.pkl"):
        ckpt.unlink()
        removed += 1

    scores, _ = common.evaluate(common.hf_logits(student, tokenizer, split.max_length), split)
    timed = common.speed(
        {
            "teacher": common.hf_logits(teacher, tokenizer, split.max_length),
            PEER: common.hf_logits(student, tokenizer, split.max_length),
        },
        [r.text for r in split.dev],
        batch_sizes=(32,),
        repeats=args.repeats,
    )
    row = {
        "peer": PEER,
        "task": args.task,
        "dev": scores,
        "speed": timed[PEER],
        "teacher_speed": timed["teacher"],
        "params": common.parameters(student),
        "teacher_params": common.parameters(teacher),
        "size_bytes": common.stored_size(student),
        "teacher_size_bytes": common.stored_size(teacher),
        # the whole distillation, per-epoch dev evaluation and TextBrewer's per-epoch
        # checkpoint writes included (lahan's compress also evaluates every epoch)
        "compress_seconds": compress_seconds,
        "compress_cpu_seconds": compress_cpu_seconds,
        "train": {"epochs": trained["epochs"], "best_epoch": trained["best_epoch"]},
        "student_layers": student.config.num_hidden_layers,
        "teacher_layers": teacher.config.num_hidden_layers,
        "textbrewer_config": {
            "distiller": "BasicDistiller",
            "temperature": TEMPERATURE,
            "kd_loss_type": "ce",
            "kd_loss_weight": (1 - ALPHA) * TEMPERATURE**2,
            "hard_label_weight": ALPHA,
            "is_caching_logits": False,
            "max_grad_norm": 1.0,
            "scheduler": "transformers.get_linear_schedule_with_warmup",
            "warmup_steps": trained["warmup_steps"],
            "total_steps": trained["total_steps"],
            "batch_size": args.batch_size,
            "lr": args.lr,
            "weight_decay": 0.01,
        },
        "threads": args.threads,
        "seed": args.seed,
        "train_threads": args.train_threads or args.threads,
        "versions": common.versions("textbrewer"),
        "notes": (
            "TextBrewer BasicDistiller (its plain logits KD; GeneralDistiller only adds "
            "intermediate matches, which lahan's default loss leaves off) from the same "
            "2-layer student init as lahan distill. Loss = 0.1 * hard-label CE (the "
            "student's own transformers loss via the adaptor's 'losses') + 3.6 * "
            "kd_ce_loss at T=2: TextBrewer's soft CE has no T^2 factor, so its weight is "
            "0.9 * T^2, which gives lahan's 0.1 CE + 0.9 T^2 KL gradients exactly (soft CE "
            "- KL = teacher entropy, constant). AdamW wd 0.01 (none on bias/LayerNorm), "
            "10% linear warm-up then linear decay via scheduler_class/scheduler_args, "
            "grad-norm clip 1.0, batch 32 reshuffled each epoch with the seed; teacher "
            "logits recomputed every batch (TextBrewer's is_caching_logits would fix the "
            "batches for all epochs), teacher in eval mode. Dev macro-F1 after every epoch "
            "through its callback, best epoch kept. compress_seconds: the whole "
            f"distillation incl. per-epoch dev evaluation and its {removed} per-epoch "
            "checkpoint writes (deleted afterwards, never loaded)."
        ),
    }
    common.write_row(args.out, row)
    print(
        f"{PEER} distill: dev accuracy {scores['accuracy']:.4f} macro-F1 {scores['macro_f1']:.4f}, "
        f"best epoch {trained['best_epoch']}, x{timed[PEER]['batch32']['ratio_vs_teacher']:.2f} "
        f"vs teacher at batch 32, {compress_seconds:.1f}s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
