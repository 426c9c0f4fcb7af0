"""`adaem report` and `adaem view`: one self-contained HTML file per set of runs, and a localhost viewer.

`collect_run` reads what a run directory holds (never opening a session: reading a run changes nothing) into
plain data; `render_report` puts that data, the stylesheet and the script into one HTML file that works
offline. Model output is untrusted: the data travels as JSON inside a `<script type="application/json">`
block with every `<` escaped, and the page's script only ever puts text into the DOM through `textContent`.
"""

from .collect import RunData, collect_run, is_run_dir
from .render import render_report, write_report

__all__ = ["RunData", "collect_run", "is_run_dir", "render_report", "write_report"]
