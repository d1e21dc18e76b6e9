"""One module per subcommand; the root CLI registers them in this order."""

from lahan.commands import (
    bench,
    compress,
    data,
    demo,
    evaluate,
    export,
    finetune,
    predict,
    pretrain,
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
    compress,  # registers prune, distill and compress
    export,
    predict,
    serve,
    bench,
    sweep,
    report,
]
