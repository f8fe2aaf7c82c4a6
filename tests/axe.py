"""axe-core (from npm, installed into tests/node by ``install_axe``) run inside a Playwright page:
the WCAG 2.0/2.1 A and AA violations of the whole page or of the elements a selector picks."""
import json
import shutil
import subprocess
from pathlib import Path

AXE_HOME = Path(__file__).parent / "node"
AXE = AXE_HOME / "node_modules" / "axe-core" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def install_axe():
    """axe.min.js, installed from the npm registry on first use (tests/node/package.json)."""
    if not AXE.exists():
        npm = shutil.which("npm")
        assert npm, "axe-core needs npm (apt-get install npm) to install tests/node"
        subprocess.run([npm, "install", "--prefix", str(AXE_HOME), "--no-audit", "--no-fund"],
                       check=True, capture_output=True)
    return AXE


def violations(page, include=None):
    """axe-core's WCAG A/AA violations in ``page``: ``[{id, impact, help, nodes: [html]}]``, of
    the elements matching the CSS selector ``include`` only (all of the page when None)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(install_axe()))
    context = json.dumps({"include": [[include]]} if include else {"include": [["html"]]})
    return page.evaluate(f"""async () => {{
        const only = {{type: 'tag', values: {json.dumps(WCAG_AA)}}};
        const result = await axe.run({context}, {{runOnly: only, resultTypes: ['violations']}});
        return result.violations.map(v => ({{id: v.id, impact: v.impact, help: v.help,
                                            nodes: v.nodes.map(n => n.html.slice(0, 200))}}));
    }}""")


def summary(found):
    """One line per violated rule: its id, help and how many elements, with the first few."""
    return "\n".join(f"{v['id']} ({v['impact']}): {v['help']}: {len(v['nodes'])} element(s), "
                     f"e.g. {' | '.join(sorted(set(v['nodes']))[:6])}" for v in found)
