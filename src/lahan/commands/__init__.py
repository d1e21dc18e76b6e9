"""One module per subcommand; the root CLI registers them in this order."""

from lahan.commands import (
    bench,
    compress,
    data,
    demo,
    distill,
    evaluate,
    export,
    finetune,
    predict,
    pretrain,
    prune,
    report,
    serve,
    sweep,
)

COMMAND_MODULES = [
    demo,
    data,
    pretrain,
    finetune,
    evaluate,
    prune,
    distill,
    compress,
    export,
    predict,
    serve,
    bench,
    sweep,
    report,
]
