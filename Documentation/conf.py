# SPDX-License-Identifier: GPL-2.0
# Sphinx configuration for Ferro's Documentation/ (make htmldocs).

project = 'Ferro'
copyright = 'The Ferro developers'
master_doc = 'index'
exclude_patterns = ['_build']
# The evidence excerpts are plain text included by the lifecycle pages.
source_suffix = {'.rst': 'restructuredtext'}
html_theme = 'alabaster'
