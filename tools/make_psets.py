"""Generate the student problem sets (psets/) from the worked solutions (solutions/).

    python tools/make_psets.py            # write psets/psetN.ipynb for every solutions/psetN.ipynb
    python tools/make_psets.py --check    # exit 1 if a committed student version is stale

The solution notebook is the one source. In it:

* code between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` becomes a stub. Inside a function
  body the stub is ``raise NotImplementedError(...)``; a region at the top level must say what
  the blank answer is, on the BEGIN line: ``### BEGIN SOLUTION stub: z_final = None``;
* markdown between ``<!-- BEGIN SOLUTION -->`` and ``<!-- END SOLUTION -->`` (invisible when
  rendered) becomes "*Your answer here.*";
* outputs and execution counts are cleared, and a solutions-only cell can be dropped with the
  cell tag ``solution-only``.

Check cells stay as they are: they compare the student's answer with an independent
computation, so in the student version they report "not answered yet".
"""

from __future__ import annotations

import pathlib
import re
import sys

import nbformat

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from notebooks import clean  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
CODE_BEGIN = re.compile(r"^(?P<indent>\s*)### BEGIN SOLUTION(?:\s+stub:\s*(?P<stub>.+))?\s*$")
CODE_END = re.compile(r"^\s*### END SOLUTION\s*$")
MD_REGION = re.compile(r"<!-- BEGIN SOLUTION -->.*?<!-- END SOLUTION -->", re.S)
MD_STUB = "*Your answer here.*"


class MarkerError(ValueError):
    pass


def strip_code(source: str, where: str) -> str:
    out, inside = [], False
    for line in source.splitlines():
        begin = CODE_BEGIN.match(line)
        if begin:
            if inside:
                raise MarkerError(f"{where}: nested BEGIN SOLUTION")
            inside = True
            indent, stub = begin["indent"], begin["stub"]
            if stub is None and not indent:
                raise MarkerError(f"{where}: a top-level solution region needs "
                                  "'### BEGIN SOLUTION stub: <blank answer>'")
            out.append(f"{indent}# YOUR CODE HERE")
            out.append(f"{indent}{stub}" if stub else
                       f'{indent}raise NotImplementedError("your code here")')
        elif CODE_END.match(line):
            if not inside:
                raise MarkerError(f"{where}: END SOLUTION without BEGIN")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise MarkerError(f"{where}: BEGIN SOLUTION without END")
    return "\n".join(out)


def student_version(solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    for i, cell in enumerate(solution.cells):
        tags = cell.get("metadata", {}).get("tags", [])
        if "solution-only" in tags:
            continue
        where = f"cell {i}"
        if cell.cell_type == "code":
            new = nbformat.v4.new_code_cell(strip_code(cell.source, where))
        elif cell.cell_type == "markdown":
            if "BEGIN SOLUTION" in MD_REGION.sub("", cell.source):
                raise MarkerError(f"{where}: unbalanced markdown solution markers")
            new = nbformat.v4.new_markdown_cell(MD_REGION.sub(MD_STUB, cell.source))
        else:
            new = nbformat.v4.new_raw_cell(cell.source)
        new.id = cell.get("id", new.id)
        if tags:
            new.metadata["tags"] = list(tags)
        nb.cells.append(new)
    return clean(nb)


def targets():
    for src in sorted((ROOT / "solutions").glob("pset*.ipynb")):
        yield src, ROOT / "psets" / src.name


def main(argv) -> int:
    check = "--check" in argv
    stale = []
    for src, dst in targets():
        text = nbformat.writes(student_version(nbformat.read(src, as_version=4))) + "\n"
        if check:
            if not dst.exists() or dst.read_text() != text:
                stale.append(dst)
        else:
            dst.write_text(text)
            print(f"wrote {dst.relative_to(ROOT)}")
    if stale:
        print("stale student versions (run `make psets`): " + ", ".join(map(str, stale)))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
