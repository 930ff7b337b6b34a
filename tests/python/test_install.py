"""Installing the sysv_ipc module as Python users do: `pip install` into a
venv (through meson-python), and `ninja install` into a prefix.

One venv is made per session, since pip builds the module (measured: 7 to
17 s).  Everything about the installed copy runs in that venv's Python,
from a directory outside the source tree, so nothing comes from build/.
"""

import inspect
import json
import os
import pathlib
import re
import subprocess
import time
import tomllib

import pytest

import sysv_ipc
from suite import ROOT

# Debian's python3, which has meson-python and venv (scripts/setup).
SYSTEM_PYTHON = "/usr/bin/python3"
CLASSES = ("Semaphore", "SemaphoreSet", "SharedMemory", "MessageQueue")
# The constructors' parameters (spec/python-api.md; SemaphoreSet is ours).
PARAMETERS = {
    "Semaphore": ["key", "flags", "mode", "initial_value"],
    "SemaphoreSet": ["key", "nsems", "flags", "mode", "initial_values"],
    "SharedMemory": ["key", "flags", "mode", "size", "init_character"],
    "MessageQueue": ["key", "flags", "mode", "max_message_size"],
}


def clean_env():
    """The environment for a child that must not see build/python."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    return env


def run(args, **kwargs):
    done = subprocess.run(args, capture_output=True, text=True,
                          env=kwargs.pop("env", clean_env()), **kwargs)
    assert done.returncode == 0, "%s failed (%d):\n%s\n%s" % (
        args, done.returncode, done.stdout[-4000:], done.stderr[-4000:])
    return done


def meson_version():
    text = (ROOT / "meson.build").read_text()
    return re.search(r"version\s*:\s*'([^']+)'", text).group(1)


class Venv:
    def __init__(self, path, pip_log, pip_seconds):
        self.path = path
        self.python = str(path / "bin" / "python")
        self.pip_log = pip_log
        self.pip_seconds = pip_seconds
        # Outside the source tree, so that the tree cannot be imported.
        self.cwd = path

    def run_python(self, code, **kwargs):
        return run([self.python, "-c", code], cwd=self.cwd, **kwargs).stdout


@pytest.fixture(scope="session")
def venv(tmp_path_factory):
    path = tmp_path_factory.mktemp("install") / "venv"
    run([SYSTEM_PYTHON, "-m", "venv", "--system-site-packages", str(path)])
    start = time.monotonic()
    # --no-build-isolation uses Debian's meson-python, which the venv sees;
    # --no-index: nothing is downloaded.  -v keeps meson's output.
    done = run([str(path / "bin" / "python"), "-m", "pip", "install",
                "--no-build-isolation", "--no-index", "-v", str(ROOT)],
               cwd=path.parent)
    seconds = time.monotonic() - start
    print("pip install took %.1f s" % seconds)
    return Venv(path, done.stdout + done.stderr, seconds)


# ------------------------------------------------------------- metadata


def test_distribution_version_is_upstreams_plus_ours():
    # The public version is the one the module reproduces (as
    # sysv_ipc.VERSION); the local label is meson's project version.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == "sysv_ipc"
    assert project["version"] == "%s+ipcfs%s" % (sysv_ipc.VERSION,
                                                 meson_version())


def test_importlib_metadata_finds_the_distribution(venv):
    out = venv.run_python(
        "import importlib.metadata as m, json\n"
        "d = m.distribution('sysv_ipc')\n"
        "print(json.dumps({'version': m.version('sysv_ipc'),\n"
        "    'license': d.metadata['License'],\n"
        "    'requires_python': d.metadata['Requires-Python'],\n"
        "    'files': sorted(str(f) for f in d.files)}))\n")
    meta = json.loads(out)
    assert meta["version"] == "1.1.0+ipcfs" + meson_version()
    assert meta["license"] == "MIT"
    assert meta["requires_python"] == ">=3.11"
    # The module, its stub and marker, the pytest plugin (and the .pyc pip
    # compiles of it), and pip's own records: no tests, benchmark programs,
    # filesystem or man page in the wheel.
    installed = [f for f in meta["files"] if ".dist-info/" not in f
                 and "/__pycache__/" not in f]
    suffix = venv.run_python(
        "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))")
    assert installed == sorted(["sysv_ipc/__init__" + suffix.strip(),
                                "sysv_ipc/__init__.pyi",
                                "sysv_ipc/py.typed",
                                "sysv_ipc/pytest_plugin.py"])


def test_pip_show_describes_it(venv):
    out = run([venv.python, "-m", "pip", "show", "sysv_ipc"],
              cwd=venv.cwd).stdout
    assert "Name: sysv-ipc" in out
    assert "Version: 1.1.0+ipcfs" in out
    assert "License: MIT" in out
    assert "drop-in replacement for sysv_ipc 1.1.0" in out


def test_pip_built_for_the_venvs_interpreter(venv):
    # meson-python hands the interpreter that runs pip to meson, which
    # says which one it found.
    found = re.findall(r"Program \S*python\S* found: YES \((\S+)\)",
                       venv.pip_log)
    assert found and all(p.startswith(str(venv.path)) for p in found), found


# ------------------------------------------------------ the installed copy


def test_import_gets_the_installed_package(venv):
    out = venv.run_python(
        "import sysv_ipc, sysconfig\n"
        "print(sysv_ipc.__file__)\n"
        "print(sysconfig.get_path('platlib'))\n"
        "print(sysv_ipc.VERSION)\n").splitlines()
    module, platlib, version = out
    assert os.path.dirname(module) == os.path.join(platlib, "sysv_ipc")
    assert version == sysv_ipc.VERSION


def test_pytest_plugin_is_a_submodule_and_an_entry_point(venv):
    # A package whose __init__ is an extension module has a __path__, so
    # the pure-Python plugin beside it imports as sysv_ipc.pytest_plugin;
    # pytest finds it through the pytest11 entry point.
    out = venv.run_python(
        "import importlib.metadata as m, sysv_ipc.pytest_plugin as p\n"
        "print(p.__file__)\n"
        "print([e.value for e in m.entry_points(group='pytest11')\n"
        "       if e.name == 'sysv_ipc'])\n").splitlines()
    assert out[0].startswith(str(venv.path)), out
    assert pathlib.Path(out[0]).read_text() == \
        (ROOT / "python" / "pytest_plugin.py").read_text()
    assert out[1] == "['sysv_ipc.pytest_plugin']"


def test_a_users_suite_gets_the_fixtures_by_installing_the_package(
        venv, tmp_path):
    # No -p: pytest loads the plugin through the entry point, and the user
    # suite imports the venv's sysv_ipc.
    from test_pytest_plugin import (USER_SUITE, check_user_suite_passed,
                                    run_user_suite)
    done, facts = run_user_suite(
        tmp_path, USER_SUITE, python=venv.python, plugin_from_source=False,
        env_extra={"IPCFS_BINARY": str(ROOT / os.environ.get(
            "IPCFS_BUILD", "build") / "fs" / "ipcfs")})
    check_user_suite_passed(done, facts)
    # pytest names entry-point plugins by their distribution.
    assert "plugins: sysv-ipc-1.1.0+ipcfs" in done.stdout, done.stdout


def test_stub_and_py_typed_are_beside_the_module(venv):
    module = venv.run_python("import sysv_ipc; print(sysv_ipc.__file__)")
    pkg = pathlib.Path(module.strip()).parent
    assert (pkg / "py.typed").is_file()
    assert (pkg / "__init__.pyi").read_text() == \
        (ROOT / "python" / "sysv_ipc.pyi").read_text()


def test_a_type_checker_reads_the_stub(venv, tmp_path):
    # PEP 561 as mypy applies it: py.typed in the package makes mypy read
    # sysv_ipc/__init__.pyi from the venv's site-packages.
    program = tmp_path / "uses_sysv_ipc.py"
    program.write_text("import sysv_ipc\n"
                       "reveal_type(sysv_ipc.Semaphore(None).value)\n"
                       "sysv_ipc.Semaphore('not a key')\n")
    done = subprocess.run(
        [SYSTEM_PYTHON, "-m", "mypy", "--python-executable", venv.python,
         "--no-incremental", "--no-error-summary", str(program)],
        capture_output=True, text=True, cwd=tmp_path, env=clean_env())
    assert "No module named mypy" not in done.stderr, \
        "mypy is missing: run scripts/setup (python3-mypy)"
    lines = done.stdout.splitlines()
    assert any('Revealed type is "builtins.int"' in ln for ln in lines), lines
    assert any(":3: error:" in ln and "Semaphore" in ln for ln in lines), \
        lines
    assert not any("import" in ln and "error" in ln for ln in lines), lines


@pytest.mark.parametrize("cls", CLASSES)
def test_help_shows_the_constructor_signature(venv, cls):
    out = venv.run_python(
        "import inspect, pydoc, sysv_ipc\n"
        "cls = sysv_ipc.%s\n"
        "print(list(inspect.signature(cls).parameters))\n"
        "print(pydoc.render_doc(cls, renderer=pydoc.plaintext))\n" % cls)
    params, doc = out.split("\n", 1)
    assert params == repr(PARAMETERS[cls])
    # The class's own line, under "class X(builtins.object)", is its
    # constructor with every parameter and default.
    signature = str(inspect.signature(getattr(sysv_ipc, cls)))
    assert signature.startswith("(key, ")
    assert " |  %s%s\n" % (cls, signature) in doc


def test_read_only_attributes_say_readonly_attribute(venv):
    # Upstream's texts: `id` is a plain member, `key` a property.
    out = venv.run_python(
        "import sysv_ipc\n"
        "s = sysv_ipc.Semaphore(None, sysv_ipc.IPC_CREX)\n"
        "try:\n"
        "    for name in ('id', 'key'):\n"
        "        try:\n"
        "            setattr(s, name, 1)\n"
        "        except AttributeError as e:\n"
        "            print(e)\n"
        "finally:\n"
        "    s.remove()\n")
    assert out.splitlines() == [
        "readonly attribute",
        "attribute 'key' of 'sysv_ipc.Semaphore' objects is not writable"]


# ------------------------------------------------------------ ninja install


@pytest.fixture(scope="module")
def module_build(tmp_path_factory):
    """A build of the module alone, as a user configures one."""
    build = tmp_path_factory.mktemp("install") / "build"
    run(["meson", "setup", str(build), str(ROOT), "-Dfs=disabled",
         "-Ddocs=disabled", "-Dpython=enabled", "-Dtests=false"])
    run(["ninja", "-C", str(build)])
    return build


def system_python_sys_path():
    return json.loads(run([SYSTEM_PYTHON, "-c",
                           "import sys, json; print(json.dumps(sys.path))"],
                          cwd="/").stdout)


def installed_files(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if p.is_file())


def test_ninja_install_puts_it_on_the_interpreters_sys_path(module_build,
                                                            tmp_path):
    # The default prefix, /usr/local, staged under DESTDIR.
    run(["meson", "configure", str(module_build), "--prefix=/usr/local"])
    destdir = tmp_path / "destdir"
    env = clean_env()
    env["DESTDIR"] = str(destdir)
    run(["meson", "install", "-C", str(module_build)], env=env)
    files = installed_files(destdir)
    inits = [f for f in files
             if re.search(r"/sysv_ipc/__init__\.cpython-.*\.so$", f)]
    assert len(inits) == 1, files
    site = os.path.dirname(os.path.dirname("/" + inits[0]))
    assert sorted(files) == sorted(
        os.path.relpath(os.path.join(site, "sysv_ipc", name), "/")
        for name in (os.path.basename(inits[0]), "__init__.pyi", "py.typed",
                     "pytest_plugin.py"))
    # Where Debian's python3 imports from (/usr/local/lib/python3.X/
    # dist-packages), not meson's default /usr/local/lib/python3/...
    assert site in system_python_sys_path(), site
    # And from there, it imports.
    env = clean_env()
    env["PYTHONPATH"] = str(destdir) + site
    out = run([SYSTEM_PYTHON, "-c",
               "import sysv_ipc; print(sysv_ipc.__file__)"],
              cwd="/", env=env).stdout
    assert out.strip() == str(destdir) + "/" + inits[0]


def test_ninja_install_into_a_scratch_prefix(module_build, tmp_path):
    prefix = tmp_path / "prefix"
    run(["meson", "configure", str(module_build), "--prefix=" + str(prefix)])
    done = run(["meson", "install", "-C", str(module_build)])
    assert "Installing" in done.stdout
    version, suffix = run(
        [SYSTEM_PYTHON, "-c", "import sys, sysconfig\n"
         "print('%d.%d' % sys.version_info[:2])\n"
         "print(sysconfig.get_config_var('EXT_SUFFIX'))"]).stdout.split()
    pkg = prefix / "lib" / ("python" + version) / "site-packages" / "sysv_ipc"
    assert sorted(p.name for p in pkg.iterdir()) == sorted(
        ["__init__" + suffix, "__init__.pyi", "py.typed", "pytest_plugin.py"])
    env = clean_env()
    env["PYTHONPATH"] = str(pkg.parent)
    out = run([SYSTEM_PYTHON, "-c",
               "import sysv_ipc, inspect\n"
               "print(sysv_ipc.__file__)\n"
               "print(inspect.signature(sysv_ipc.Semaphore))\n"],
              cwd="/", env=env).stdout.splitlines()
    assert pathlib.Path(out[0]).parent == pkg
    assert out[1].startswith("(key, flags=0")
