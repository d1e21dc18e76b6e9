"""One module per subcommand; the root CLI registers them in this order."""

from lahan.commands import compress, data, demo, distill, evaluate, finetune, prune

COMMAND_MODULES = [demo, data, finetune, evaluate, prune, distill, compress]
