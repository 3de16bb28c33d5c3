"""Call one PEP 517 build-backend hook, or report installed distributions.

py2deb runs this file with the build environment's Python, in a fresh process per hook
(PEP 517 asks frontends to do so, since backends may change global state), with the
source tree as the working directory:

    python pep517_hooks.py REQUEST.json RESULT.json

REQUEST is {"hook": NAME, "backend": "module:object", "backend_path": [DIR...],
"kwargs": {...}}; or {"hook": "_installed", "names": [DIST...]} to look up the versions
of installed distributions and this interpreter's PEP 508 marker values. RESULT gets
{"status": "ok", "value": ...}, {"status": "missing-hook"},
{"status": "backend-unavailable", "module": NAME, "message": TEXT} or
{"status": "error", "message": TEXT}. Everything the backend prints goes to stdout and
stderr, which py2deb sends to the build log. Kept compatible with Python 3.7.
"""

import importlib
import json
import os
import platform
import sys
import traceback

# Hooks PEP 517 lets a backend leave out; the frontend then falls back to a default.
OPTIONAL_HOOKS = ("get_requires_for_build_wheel", "prepare_metadata_for_build_wheel")


def write_result(path, result):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(result, f)
    os.replace(tmp, path)


def load_backend(spec, backend_path):
    module_name, _, object_path = spec.partition(":")
    module_name = module_name.strip()
    if backend_path:
        sys.path[:0] = backend_path
    obj = importlib.import_module(module_name)
    if backend_path:
        # PEP 517: an in-tree backend must really come from backend-path, not from a
        # same-named module installed elsewhere.
        origin = os.path.realpath(getattr(obj, "__file__", "") or "")
        roots = [os.path.realpath(p) + os.sep for p in backend_path]
        if not any(origin.startswith(r) for r in roots):
            raise RuntimeError(
                "backend %r was loaded from %s, not from backend-path %r"
                % (spec, origin, backend_path)
            )
    for attr in filter(None, object_path.strip().split(".")):
        obj = getattr(obj, attr)
    return obj


def installed(names):
    try:
        from importlib import metadata
    except ImportError:  # Python < 3.8
        metadata = None
    versions = {}
    for name in names:
        version = None
        # Older importlib.metadata does not normalize names; try the usual spellings.
        candidates = [name, name.replace("-", "_"), name.replace("_", "-"), name.lower()]
        for candidate in candidates:
            if metadata is None:
                break
            try:
                version = metadata.version(candidate)
                break
            except Exception:
                pass
        versions[name] = version
    markers = {
        "implementation_name": sys.implementation.name,
        "implementation_version": platform.python_version(),
        "os_name": os.name,
        "platform_machine": platform.machine(),
        "platform_python_implementation": platform.python_implementation(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "python_version": "%d.%d" % sys.version_info[:2],
        "sys_platform": sys.platform,
    }
    return {"versions": versions, "markers": markers}


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: pep517_hooks.py REQUEST.json RESULT.json\n")
        return 2
    request_path, result_path = sys.argv[1], sys.argv[2]
    # Running a script puts its own directory first on sys.path; the backend must see
    # only the build environment (and backend-path), so take it away.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    with open(request_path, encoding="utf-8") as f:
        request = json.load(f)
    hook_name = request["hook"]
    if hook_name == "_installed":
        write_result(result_path, {"status": "ok", "value": installed(request["names"])})
        return 0
    try:
        backend = load_backend(request["backend"], request.get("backend_path") or [])
    except ImportError as e:
        traceback.print_exc()
        write_result(
            result_path,
            {
                "status": "backend-unavailable",
                "module": getattr(e, "name", None),
                "message": "%s: %s" % (type(e).__name__, e),
            },
        )
        return 1
    except Exception as e:
        traceback.print_exc()
        write_result(result_path, {"status": "error", "message": "%s: %s" % (type(e).__name__, e)})
        return 1
    hook = getattr(backend, hook_name, None)
    if hook is None:
        if hook_name in OPTIONAL_HOOKS:
            write_result(result_path, {"status": "missing-hook"})
            return 0
        write_result(
            result_path,
            {"status": "error", "message": "the backend has no %s hook" % hook_name},
        )
        return 1
    sys.stdout.write("py2deb: calling %s.%s\n" % (request["backend"], hook_name))
    sys.stdout.flush()
    try:
        value = hook(**request.get("kwargs", {}))
    except Exception as e:
        traceback.print_exc()
        write_result(result_path, {"status": "error", "message": "%s: %s" % (type(e).__name__, e)})
        return 1
    except SystemExit as e:
        # setup.py scripts call sys.exit() on errors; report it instead of vanishing.
        traceback.print_exc()
        write_result(result_path, {"status": "error", "message": "exited with %r" % (e.code,)})
        return 1
    write_result(result_path, {"status": "ok", "value": value})
    return 0


if __name__ == "__main__":
    sys.exit(main())
