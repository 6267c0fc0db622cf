# SPDX-License-Identifier: GPL-2.0
"""Run a board's LAVA job with LAVA's own dispatcher, on this machine.

What a LAVA lab does with the job scripts/lava-jobs writes, done here: the
artefacts are staged and served as file:// URLs, the device configuration
is rendered from LAVA's qemu device-type template (a device dictionary
that extends it, rendered with the job's context, as the LAVA server does
before it hands a job to a worker), and lava-run (the dispatcher) runs the
job in the lava root of scripts/setup-chroot. Its log (one JSON object per
line) holds both the console and LAVA's results; the checks compare them.
"""

import dataclasses
import json
import os
import signal
import subprocess
import time
from collections import Counter
from typing import List, Tuple

from ferro import chroot, ktap
from ferro.board import Board, TOP

# The device dictionary of the local "lab": one qemu device. The job's
# context (machine, cpu, memory, extra options) completes it.
DEVICE_DICT = """{% extends 'qemu.jinja2' %}
{% set mac_addr = '52:54:00:12:34:59' %}
{% set memory = 512 %}
"""

RENDER = """
import sys, jinja2, yaml
out, job = sys.argv[1], sys.argv[2]
env = jinja2.Environment(loader=jinja2.FileSystemLoader(['/srv/lava/device-types', out]),
                         trim_blocks=True, autoescape=False)
with open(job) as f:
    context = yaml.safe_load(f).get('context', {})
sys.stdout.write(env.get_template('ferro-device.jinja2').render(**context))
"""


class LavaError(Exception):
	pass


@dataclasses.dataclass
class Outcome:
	"""What one lava-run reported."""
	plan: str
	seconds: float
	job_result: str			# LAVA's own "job" case: pass or fail
	error: str			# LAVA's error message, if any
	cases: List[Tuple[str, str]]	# (case, result) of the monitor's test suite
	console: str			# the DUT's console, as LAVA logged it
	log: str			# the log file


def qemu_job(board: Board) -> bool:
	"""Whether the board has a LAVA job for the qemu device type, the one
	that runs here."""
	path = os.path.join(board.folder, 'lava', 'job.yaml')
	if not os.path.isfile(path):
		return False
	with open(path) as f:
		return 'device_type: qemu\n' in f.read()


def stage(board: Board, kdir: str, out: str, stress: int = 0) -> None:
	"""Jobs with file:// URLs and their artefacts under out/ (scripts/lava-jobs);
	`stress`, if not 0, sets the guest's loop counts."""
	url = 'file://' + os.path.join(out, 'artifacts')
	proc = subprocess.run([os.path.join(TOP, 'scripts', 'lava-jobs'), '--board', board.name,
			       '--artifact-url', url, '--out', out, '--kdir', kdir,
			       '--stress', str(stress)], capture_output=True, text=True)
	if proc.returncode != 0:
		raise LavaError(f'scripts/lava-jobs failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}')


def run_job(board: Board, plan: str, out: str, timeout: int = 1200) -> Outcome:
	"""Render the device configuration for the staged job of `plan`, run
	lava-run on it and return what it reported."""
	job = os.path.join(out, f'ferro-{board.name}-{plan}.yaml')
	if not os.path.isfile(job):
		raise LavaError(f'no staged job {job}')
	with open(os.path.join(out, 'ferro-device.jinja2'), 'w') as f:
		f.write(DEVICE_DICT)
	proc = chroot.run('lava', ['python3', '-c', RENDER, out, job], [out],
			  capture_output=True, text=True)
	if proc.returncode != 0:
		raise LavaError(f'rendering the qemu device configuration failed:\n{proc.stderr[-2000:]}')
	device = os.path.join(out, f'device-{plan}.yaml')
	with open(device, 'w') as f:
		f.write(proc.stdout)
	log = os.path.join(out, f'lava-{plan}.log')
	start = time.monotonic()
	cmd = chroot.command('lava', ['lava-run', '--job-id', '1', '--output-dir',
				      '/tmp/lava-output', '--device', device, job], [out], tmpfs_tmp=True)
	with open(log, 'w') as f:
		# A session of its own: on a timeout, lava-run and the QEMU it
		# started go together (the job's own timeouts should come first).
		proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT,
					start_new_session=True)
		try:
			proc.wait(timeout=timeout)
		except subprocess.TimeoutExpired:
			os.killpg(proc.pid, signal.SIGKILL)
			proc.wait()
			raise LavaError(f'lava-run did not finish in {timeout} s (log: {log})')
	seconds = time.monotonic() - start
	return parse_log(plan, log, seconds)


def parse_log(plan: str, log: str, seconds: float = 0.0) -> Outcome:
	"""LAVA's results and the console out of a lava-run log."""
	job_result, error, cases, console = '', '', [], []
	suite = f'ferro-selftest-{plan}'
	with open(log, errors='replace') as f:
		for line in f:
			try:
				entry = json.loads(line)
			except ValueError:
				continue
			if not isinstance(entry, dict):
				continue
			msg = entry.get('msg')
			if entry.get('lvl') == 'target' and isinstance(msg, str):
				console.append(msg)
			elif entry.get('lvl') == 'results' and isinstance(msg, dict):
				if msg.get('definition') == 'lava' and msg.get('case') == 'job':
					job_result = msg.get('result', '')
					error = msg.get('error_msg', '')
				elif msg.get('definition') == suite:
					cases.append((msg.get('case', ''), msg.get('result', '')))
	return Outcome(plan, seconds, job_result, error, cases, '\n'.join(console) + '\n', log)


def skips(o: Outcome) -> List[Tuple[str, str]]:
	"""(name, reason) of every case the guest skipped: LAVA records none
	of them, so they are relayed as they are, to be counted as skips."""
	return [(f'lava_{o.plan}_{r.name}', r.reason) for r in ktap.parse(o.console).results
		if r.skipped]


def checks(o: Outcome) -> List[Tuple[str, bool, str]]:
	"""(name, ok, detail): the job completed, every KTAP case the guest
	printed arrived as a LAVA test case with the same outcome (no more, no
	fewer: a skipped case arrives as none), and the guest's own tests
	passed under LAVA."""
	run = ktap.parse(o.console)
	want = [(r.name, 'pass' if r.ok else 'fail') for r in run.results if not r.skipped]
	lava_fail = [c for c, r in o.cases if r != 'pass']
	# As multisets: a case LAVA recorded twice is as wrong as one it missed.
	missing = list((Counter(want) - Counter(o.cases)).elements())
	extra = list((Counter(o.cases) - Counter(want)).elements())
	return [
		(f'lava_{o.plan}_job_complete', o.job_result == 'pass',
		 f'LAVA job result {o.job_result or "none"}{": " + o.error if o.error else ""} '
		 f'(log: {o.log})'),
		(f'lava_{o.plan}_results_match_ktap',
		 bool(want) and not missing and not extra and not run.errors,
		 f'{len(want)} KTAP results, {len(o.cases)} LAVA test cases; missing {missing[:3]}, '
		 f'extra {extra[:3]}, KTAP errors {run.errors[:2]}'),
		(f'lava_{o.plan}_selftest_passed', bool(o.cases) and not lava_fail,
		 f'{len(o.cases) - len(lava_fail)} passed, {len(lava_fail)} failed under LAVA: '
		 f'{lava_fail[:5]}'),
	]
