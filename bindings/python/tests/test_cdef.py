"""The cdef is checked against the real header when the extension is built:
a field the header does not have, or a callback field of another type, fails
the compilation (what meson's build of the extension does)."""
import os
import shutil
import subprocess
import sys
import sysconfig

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
import cloudnotify_build  # noqa: E402

CC = shutil.which("cc") or shutil.which("gcc")
pytestmark = pytest.mark.skipif(CC is None, reason="no C compiler")


def compile_cdef(cdef, tmp_path):
    import cffi
    ffi = cffi.FFI()
    ffi.cdef(cdef)
    ffi.set_source("cloudnotify._cloudnotify", cloudnotify_build.SOURCE)
    src = str(tmp_path / "ext.c")
    ffi.emit_c_code(src)
    return subprocess.run(
        [CC, "-fsyntax-only", "-Werror=incompatible-pointer-types",
         "-I" + os.path.join(ROOT, "include"), "-I" + sysconfig.get_paths()["include"], src],
        capture_output=True, text=True)


def test_real_cdef_compiles(tmp_path):
    res = compile_cdef(cloudnotify_build.CDEF, tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]


def test_misnamed_field_fails_the_build(tmp_path):
    bad = cloudnotify_build.CDEF.replace("unsigned consecutive_errors;",
                                         "unsigned consecutive_errs;")
    assert bad != cloudnotify_build.CDEF
    res = compile_cdef(bad, tmp_path)
    assert res.returncode != 0 and "consecutive_errs" in res.stderr


def test_callback_field_of_another_type_fails_the_build(tmp_path):
    bad = cloudnotify_build.CDEF.replace("int64_t (*now_ms)(void *user_data);",
                                         "int (*now_ms)(void *user_data);")
    assert bad != cloudnotify_build.CDEF
    res = compile_cdef(bad, tmp_path)
    assert res.returncode != 0 and "now_ms" in res.stderr


def test_unknown_constant_fails_the_build(tmp_path):
    bad = cloudnotify_build.CDEF.replace("static const int CLOUDNOTIFY_OP_LOAD;",
                                         "static const int CLOUDNOTIFY_OP_LOAD;\n"
                                         "static const int CLOUDNOTIFY_OP_FROBNICATE;")
    res = compile_cdef(bad, tmp_path)
    assert res.returncode != 0 and "CLOUDNOTIFY_OP_FROBNICATE" in res.stderr
