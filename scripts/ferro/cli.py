# SPDX-License-Identifier: GPL-2.0
"""What the Ferro programs' command lines share: loading --board with a
usage error (exit 2) that names the boards there are, never a traceback."""

import argparse

from ferro import board as boards
from ferro.board import Board


def load_board(parser: argparse.ArgumentParser, name: str) -> Board:
	"""boards/<name>, or the parser's usage error naming the choices."""
	try:
		return boards.load(name)
	except ValueError as e:
		parser.error(str(e))
		raise	# not reached: parser.error exits
