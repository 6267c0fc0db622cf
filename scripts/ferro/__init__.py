# SPDX-License-Identifier: GPL-2.0
"""Ferro's build and test tooling (Python 3, standard library only)."""
