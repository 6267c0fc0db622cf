# SPDX-License-Identifier: GPL-2.0
"""Host-side tests: run by scripts/run-checks (make check) or make test-host."""
