"""The report's screenshots on the documentation site (docs/images/report-*.png), taken from a report in headless
Chromium (Debian's /usr/bin/chromium, driven by playwright, as the browser tests do):

    python scripts/docs_screenshots.py runs/report.html            # the README's demo: generate + evaluate

The first tab that is an evaluate run (else the generate run, whose scorers' profiles it shows) gives the profiles
and the question browser; the first generate run gives the generation section. Kept as a script so the pictures can be taken again when the report changes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

OUT = Path(__file__).resolve().parents[1] / "docs" / "images"


def section(page: Page, title: str, path: Path) -> None:
    """Screenshot the report section whose heading is `title`."""
    box = page.locator("section", has=page.locator("h2", has_text=title)).first
    box.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    box.screenshot(path=str(path))
    print("wrote", path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("report", type=Path)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 1000}, device_scale_factor=1)
        page.goto(args.report.resolve().as_uri())
        page.add_style_tag(content="header { position: static !important; }")  # no sticky bar over a section
        page.wait_for_timeout(500)
        tabs = page.locator("header button")
        names = [tabs.nth(i).inner_text() for i in range(tabs.count())]
        generate = next((i for i, n in enumerate(names) if n.endswith("generate")), None)
        evaluate = next((i for i, n in enumerate(names) if n.endswith("evaluate")), generate)
        if generate is not None:
            tabs.nth(generate).click()
            section(page, "Generation", OUT / "report-generation.png")
        tabs.nth(evaluate).click()  # a generate run alone shows its scorers' profiles
        section(page, "Value profiles", OUT / "report-profiles.png")
        section(page, "Questions", OUT / "report-questions.png")
        browser.close()


if __name__ == "__main__":
    main()
