"""A PEP 517 build backend for the placeholder package of dllint's pre-commit hook.

The package `dllint-pre-commit` has no code: its wheel holds metadata only, with one
requirement, `dllint==<version>` (the version is the `.version` file next to this one). pip
then installs the `dllint` wheel, whose binary is the hook's `entry`. Written out here, with
the standard library only, so that `pip install .` needs no build package from an index.
"""

import base64
import hashlib
import io
import os
import tarfile
import zipfile

NAME = "dllint-pre-commit"
DIST = "dllint_pre_commit"
SUMMARY = "pre-commit hook for dllint: installs the dllint wheel of the same version"
URL = "https://github.com/dllint/dllint"
TAG = "py3-none-any"
SOURCES = (".pre-commit-hooks.yaml", ".version", "dllint_pre_commit_backend.py", "pyproject.toml")


def _version():
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, ".version"), encoding="utf-8") as f:
        version = f.read().strip()
    if not version or any(c.isspace() for c in version):
        raise ValueError(".version must hold one version, such as 0.1.0, not %r" % version)
    return version


def _metadata(version):
    return (
        "Metadata-Version: 2.1\n"
        "Name: %s\n"
        "Version: %s\n"
        "Summary: %s\n"
        "Home-page: %s\n"
        "Requires-Dist: dllint==%s\n" % (NAME, version, SUMMARY, URL, version)
    )


def _dist_info_files(version):
    wheel = (
        "Wheel-Version: 1.0\n"
        "Generator: dllint_pre_commit_backend\n"
        "Root-Is-Purelib: true\n"
        "Tag: %s\n" % TAG
    )
    return {"METADATA": _metadata(version), "WHEEL": wheel}


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    version = _version()
    dist_info = "%s-%s.dist-info" % (DIST, version)
    os.makedirs(os.path.join(metadata_directory, dist_info), exist_ok=True)
    for name, text in _dist_info_files(version).items():
        with open(os.path.join(metadata_directory, dist_info, name), "w", encoding="utf-8") as f:
            f.write(text)
    return dist_info


def _record_line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "%s,sha256=%s,%d\n" % (path, digest.decode("ascii"), len(data))


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    version = _version()
    dist_info = "%s-%s.dist-info" % (DIST, version)
    filename = "%s-%s-%s.whl" % (DIST, version, TAG)
    record = ""
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w") as wheel:
        for name, text in sorted(_dist_info_files(version).items()):
            path = "%s/%s" % (dist_info, name)
            data = text.encode("utf-8")
            wheel.writestr(path, data)
            record += _record_line(path, data)
        record += "%s/RECORD,,\n" % dist_info
        wheel.writestr("%s/RECORD" % dist_info, record.encode("utf-8"))
    return filename


def build_sdist(sdist_directory, config_settings=None):
    version = _version()
    base = "%s-%s" % (DIST, version)
    filename = base + ".tar.gz"
    here = os.path.dirname(os.path.abspath(__file__))
    with tarfile.open(os.path.join(sdist_directory, filename), "w:gz") as sdist:
        for name in SOURCES:
            sdist.add(os.path.join(here, name), arcname="%s/%s" % (base, name))
        info = _metadata(version).encode("utf-8")
        entry = tarfile.TarInfo("%s/PKG-INFO" % base)
        entry.size = len(info)
        sdist.addfile(entry, io.BytesIO(info))
    return filename
