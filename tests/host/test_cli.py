# SPDX-License-Identifier: GPL-2.0
"""Every program that takes --board refuses an unknown one the same way:
a non-zero exit and one line naming the boards there are, no traceback."""

import os
import re
import subprocess
import unittest

from tests.host.common import TOP

# Programs with --board, and what else each must be given to get that far.
PROGRAMS = {
	'build-debs': [], 'build-image': [], 'build-kernel': [], 'build-rustdoc': [],
	'ferro-compare': [], 'ferro-demo': [], 'gen-docs': [], 'gen-rust-project': [],
	'lava-jobs': ['--artifact-url', 'http://lava.example.org/ferro/'],
	'lava-run-local': [], 'run-checks': [],
}


class UnknownBoard(unittest.TestCase):

	def test_every_program_with_board_is_listed(self):
		scripts = os.path.join(TOP, 'scripts')
		found = set()
		for name in os.listdir(scripts):
			path = os.path.join(scripts, name)
			if os.path.isfile(path):
				with open(path, errors='replace') as f:
					if re.search(r"""['"]--board['"]""", f.read()):
						found.add(name)
		self.assertEqual(found, set(PROGRAMS))

	def test_unknown_board_is_a_usage_error(self):
		for name, extra in PROGRAMS.items():
			with self.subTest(name):
				p = subprocess.run([os.path.join(TOP, 'scripts', name), '--board', 'nope',
						    '--kdir', TOP, *extra], capture_output=True, text=True,
						   timeout=60)
				self.assertIn(p.returncode, (1, 2))
				self.assertNotIn('Traceback', p.stderr)
				self.assertIn("unknown board 'nope' (boards: ", p.stderr)
				self.assertIn('qemu-virt', p.stderr)


if __name__ == '__main__':
	unittest.main()
