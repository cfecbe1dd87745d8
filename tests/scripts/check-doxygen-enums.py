#!/usr/bin/python3
"""Undocumented enum values in doxygen's XML output, one line each in
doxygen's own warning format (doxygen itself does not report them)."""
import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def text(node):
    return "".join(node.itertext()).strip() if node is not None else ""


seen = set()
for f in sorted(Path(sys.argv[1]).glob("*.xml")):
    root = ET.parse(f).getroot()
    for enum in root.iter("memberdef"):
        if enum.get("kind") != "enum":
            continue
        for value in enum.findall("enumvalue"):
            name = value.findtext("name")
            if name in seen:
                continue
            seen.add(name)
            if text(value.find("briefdescription")) or text(value.find("detaileddescription")):
                continue
            loc = enum.find("location")
            where = "%s:%s" % (loc.get("file"), loc.get("line")) if loc is not None else "?"
            print("%s: warning: enum value %s of %s is not documented"
                  % (where, name, enum.findtext("name")))
