"""`lahan pretrain`: masked-language-model pretraining of an encoder."""

from __future__ import annotations

import argparse

from lahan.commands._args import (
    add_command,
    add_config_flags,
    add_data_arguments,
    add_resume_arguments,
    add_train_arguments,
    config_from_flags,
    data_config_from_args,
    train_config_from_args,
)
from lahan.config import ModelConfig, PretrainConfig, TrainConfig

# Pretraining runs longer than fine-tuning and judges epochs by held-out MLM loss.
DEFAULTS = TrainConfig(epochs=10, patience=2)

EXAMPLES = """\
examples:
  # a small BERT from scratch on unlabeled text + the task's own train texts (unlabeled):
  lahan pretrain --model preset:small --text ../shared/data/marathi-text/corpus.txt \\
      --data ../shared/data/mahanews --vocab-size 16000 --epochs 3 --out runs/pt-small
  # continued (domain-adaptive) pretraining of a published encoder:
  lahan pretrain --model l3cube-pune/marathi-bert-v2 --text news.txt.gz --epochs 2 --out runs/dapt
  # then use it as a teacher's starting point, or as a well-read student:
  lahan finetune --model runs/pt-small --data ../shared/data/mahanews --out runs/teacher
  lahan distill --teacher runs/teacher --student runs/pt-tiny --data ../shared/data/mahanews \\
      --out runs/student
  # killed? the same command with --resume continues from OUT.checkpoint
"""

# computes with PyTorch or ONNX Runtime: the root CLI gives it --threads
COMPUTES = True


def register(subparsers) -> None:
    p = add_command(
        subparsers,
        "pretrain",
        help="pretrain an encoder with masked-language modelling",
        description="Masked-language-model pretraining (15% masking, 80/10/10) of a preset "
        "BERT from scratch or of an existing encoder, on text files (one text per line, "
        ".txt or .txt.gz) and/or the train split of a dataset (unlabeled; its dev and test "
        "texts never enter). Short texts are packed into full-length blocks; a held-out "
        "slice of the texts gives the MLM loss and perplexity per epoch, and the best epoch "
        "is kept. The output folder is an encoder that finetune and distill take as --model "
        "/ --student.",
        examples=EXAMPLES,
    )
    model_flags = ("source", "vocab_size", "dropout", "tokenizer")  # no head: an encoder
    add_config_flags(p.add_argument_group("model"), ModelConfig, names=model_flags)
    t = p.add_argument_group("texts")
    t.add_argument(
        "--text",
        action="append",
        default=[],
        metavar="FILE",
        help="a .txt or .txt.gz file, one text per line (repeatable)",
    )
    add_data_arguments(p, required=False)
    add_config_flags(p.add_argument_group("masking"), PretrainConfig)
    add_train_arguments(p, DEFAULTS)
    p.add_argument("--out", required=True, help="folder to write the encoder to")
    add_resume_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lahan.recipes.pretrain import run_pretrain

    record = run_pretrain(
        config_from_flags(ModelConfig, args),
        train_config_from_args(args),
        config_from_flags(PretrainConfig, args),
        args.out,
        text_files=args.text,
        data_config=data_config_from_args(args) if args.data else None,
        resume=args.resume,
    )
    corpus, train, best = record.corpus, record.train, record.metrics["heldout"]
    print(
        f"{corpus['texts']} texts, {corpus['train_tokens']:,} training tokens in "
        f"{corpus['train_blocks']} blocks, vocabulary {corpus['vocab_size']:,}"
    )
    print(
        f"best epoch {train['best_epoch']}: held-out MLM loss {best['mlm_loss']:.4f}, "
        f"perplexity {best['perplexity']:.1f}; {train['steps']} steps, "
        f"{train['train_seconds']:.1f}s ({train['tokens_per_second']:,.0f} tokens/s)"
    )
    print(f"saved to {args.out}")
    return 0
