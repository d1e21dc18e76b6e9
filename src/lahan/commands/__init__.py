"""One module per subcommand; the root CLI registers them in this order."""

from lahan.commands import data, demo, evaluate, finetune

COMMAND_MODULES = [demo, data, finetune, evaluate]
