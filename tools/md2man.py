#!/usr/bin/env python3
"""Turn docs/cloudnotify-admin.1.md into a troff man page.

The source uses a small subset of Markdown, so that it reads well as a
document and converts without a Markdown library:
  # name(section) -- summary     the title line (first line)
  ## HEADING                     a section
  - `term` *ARG*: text...        a tagged paragraph (.TP), continued by
                                 indented lines
  four-space indented lines      a literal block
  `code`, **bold**, *italic*     inline
Everything else is running text; a blank line ends a paragraph.
"""
import re
import sys


def inline(text):
    text = text.replace("\\", "\\e")
    text = re.sub(r"`([^`]+)`", r"\\fB\1\\fR", text)
    text = re.sub(r"\*\*([^*]+)\*\*", r"\\fB\1\\fR", text)
    text = re.sub(r"\*([^*]+)\*", r"\\fI\1\\fR", text)
    text = text.replace("-", "\\-")
    if text.startswith((".", "'")):
        text = "\\&" + text
    return text


def convert(lines):
    m = re.match(r"#\s+([\w-]+)\((\d)\)\s+--\s+(.*)", lines[0])
    if not m:
        raise SystemExit("first line must be '# name(section) -- summary'")
    name, section, summary = m.groups()
    out = ['.TH %s %s "" "libcloudnotify" "User Commands"' % (name.upper(), section),
           ".SH NAME", "%s \\- %s" % (name, inline(summary))]
    literal = False
    for raw in lines[1:]:
        line = raw.rstrip("\n")
        if line.startswith("    ") and not line.startswith("    -") and (literal or not out[-1] or out[-1] in (".PP", ".fi")):
            if not literal:
                out.append(".nf")
                literal = True
            out.append("\\&" + line[4:].replace("\\", "\\e"))
            continue
        if literal:
            out.append(".fi")
            literal = False
        if not line.strip():
            if out[-1] != ".PP":
                out.append(".PP")
        elif line.startswith("## "):
            if out[-1] == ".PP":
                out.pop()
            out.append(".SH " + line[3:].strip().upper())
        elif line.startswith("- "):
            if out[-1] == ".PP":
                out.pop()
            tag, _, text = line[2:].partition(": ")
            out += [".TP", inline(tag), inline(text)]
        elif line.startswith("  "):
            out.append(inline(line.strip()))
        else:
            out.append(inline(line))
    if literal:
        out.append(".fi")
    while out[-1] == ".PP":
        out.pop()
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as f:
        page = convert(f.readlines())
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        f.write(page)
