"""DataConfig: every option of the data layer, its defaults in one place."""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass

from lahan.errors import LahanError


@dataclass
class DataConfig:
    source: str = "demo"  # folder, CSV/TSV/JSONL file, "hf:owner/name" / "owner/name", or "demo"
    text_col: str | None = None  # auto-detected when None
    label_col: str | None = None
    subsets: tuple[str, ...] = ()  # e.g. ("SHC",) to read only some sub-datasets of a folder
    dev_ratio: float = 0.1  # used only when a single pool has to be split
    test_ratio: float = 0.1
    seed: int = 42
    leakage_guard: bool = True  # remove from train the texts that occur in dev/test
    drop_train_duplicates: bool = False

    def __post_init__(self) -> None:
        for name in ("dev_ratio", "test_ratio"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise LahanError(f"--{name.replace('_', '-')} must be in [0, 1), got {value}")
        if self.dev_ratio + self.test_ratio >= 0.9:
            raise LahanError(
                f"--dev-ratio + --test-ratio = {self.dev_ratio + self.test_ratio:.2f} leaves "
                "too little for training: keep their sum below 0.9"
            )
        if self.seed < 0:
            raise LahanError(f"--data-seed must be >= 0, got {self.seed}")
        self.subsets = tuple(self.subsets)

    def to_dict(self) -> dict:
        return asdict(self)


DATA_HELP = (
    "a MahaNews-style folder, a CSV/TSV/JSONL file, a Hugging Face dataset id "
    "(hf:owner/name), or 'demo' for the built-in corpus"
)


def add_data_arguments(
    parser: argparse.ArgumentParser, positional: bool = False, required: bool = True
) -> None:
    """The data flags every command shares (--data or DATA, columns, splits, leakage)."""
    d = DataConfig()
    g = parser.add_argument_group("data")
    if positional:
        g.add_argument("data", metavar="DATA", help=DATA_HELP)
    else:
        g.add_argument("--data", required=required, default=None, help=DATA_HELP)
    g.add_argument("--text-col", default=d.text_col, help="text column (default: auto-detect)")
    g.add_argument("--label-col", default=d.label_col, help="label column (default: auto-detect)")
    g.add_argument(
        "--subset",
        default=",".join(d.subsets),
        help="comma-separated sub-datasets of a folder to read, e.g. SHC or SHC,LPC (default: all)",
    )
    g.add_argument(
        "--dev-ratio",
        type=float,
        default=d.dev_ratio,
        help=f"dev share when one pool is split (default {d.dev_ratio})",
    )
    g.add_argument(
        "--test-ratio",
        type=float,
        default=d.test_ratio,
        help=f"test share when one pool is split (default {d.test_ratio})",
    )
    g.add_argument(
        "--data-seed",
        type=int,
        default=d.seed,
        help=f"seed of the stratified split (default {d.seed})",
    )
    g.add_argument(
        "--no-leakage-guard",
        action="store_true",
        help="keep train texts that also occur in dev/test (not recommended)",
    )
    g.add_argument(
        "--drop-train-duplicates",
        action="store_true",
        help="keep one copy of each text within train",
    )


def data_config_from_args(args: argparse.Namespace) -> DataConfig:
    return DataConfig(
        source=args.data,
        text_col=args.text_col,
        label_col=args.label_col,
        subsets=tuple(s.strip() for s in (args.subset or "").split(",") if s.strip()),
        dev_ratio=args.dev_ratio,
        test_ratio=args.test_ratio,
        seed=args.data_seed,
        leakage_guard=not args.no_leakage_guard,
        drop_train_duplicates=args.drop_train_duplicates,
    )
