"""The set-up leaves the machine as it found it: what `make run`, `make test`, `make bench` and the
deps scripts do, checked without installing or building anything (fake apt and dpkg on PATH)."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = [REPO / "scripts" / "ensure-deps.sh", REPO / "scripts" / "test.sh", REPO / "scripts" / "clean-deps.sh",
           *sorted((REPO / "scripts" / "deps").glob("*.sh"))]
SETUP_WORDS = ("ensure-deps", "scripts/deps", "apt-get", "dpkg", "test.sh")


def make_dry_run(target: str, **env: str) -> str:
    """The commands `make TARGET` would run from scratch (-B: as if nothing were built yet)."""
    return subprocess.run(["make", "-n", "-B", "--no-print-directory", target], cwd=REPO, check=True,
                          capture_output=True, text=True, env={**os.environ, **env}).stdout


@pytest.mark.parametrize("target", ["run", "reset-demo", "setup"])
def test_run_never_sets_up_test_servers(target: str) -> None:
    commands = make_dry_run(target)
    assert "gooseterm" in commands or "pip install" in commands
    assert not [w for w in SETUP_WORDS if w in commands], commands


def test_make_test_sets_up_the_servers_and_the_venv() -> None:
    assert "./scripts/test.sh" in make_dry_run("test")
    script = (REPO / "scripts" / "test.sh").read_text()
    assert "ensure-deps.sh" in script and "setup" in script
    assert '"$rc" -eq 5' in script, "pytest's exit 5 (nothing collected) must stay a failure"


def test_clean_targets(tmp_path: Path) -> None:
    clean = make_dry_run("clean", GOOSETERM_CACHE=str(tmp_path))
    for path in (".venv", ".gooseterm-demo", ".pytest_cache", "bench/out"):
        assert path in clean
    assert str(tmp_path) not in clean, "make clean keeps the cached test servers and benchmark data"
    assert f"rm -rf {tmp_path}/bench bench/out" in make_dry_run("clean-bench", GOOSETERM_CACHE=str(tmp_path))


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_scripts_are_strict_and_parse(script: Path) -> None:
    text = script.read_text()
    assert re.search(r"^set -euo pipefail$|^set -uo pipefail$", text, re.M), f"{script.name}: no strict mode"
    subprocess.run(["bash", "-n", str(script)], check=True)


def test_no_script_installs_a_service_or_touches_etc() -> None:
    """Servers are unpacked (dpkg-deb -x), never apt-installed; no users, units or apt sources are added."""
    apt_installed = []
    for script in [REPO / "scripts" / "lib.sh", *SCRIPTS]:
        code = "\n".join(line for line in script.read_text().splitlines() if not line.lstrip().startswith("#"))
        apt_installed += re.findall(r"apt_install\s+\S+\s+([^\n]*)|apt-get install([^\n]*)|BUILD_TOOLS=\(([^)]*)\)", code)
        assert not re.search(r"\b(useradd|adduser|systemctl|update-rc\.d|deb-systemd-helper)\b", code), script.name
        assert not re.search(r">\s*\"?/etc/", code), f"{script.name} writes under /etc"
    packages = " ".join(" ".join(groups) for groups in apt_installed)
    assert "tmux" in packages and "golang-go" in packages
    # Debian packages whose maintainer scripts add a user or enable a service at boot.
    assert not re.search(r"(?<![\w-])(prometheus|etcd-server|rsync)(?![\w-])", packages), packages
    servers = (REPO / "scripts" / "deps" / "20-servers.sh").read_text()
    assert "apt_get download" in servers and "dpkg-deb -x" in servers


def fake_system(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """PATH with apt-get, apt-cache and dpkg replaced by stubs that log their calls and print nothing
    (so apt knows no package, and dpkg -s says 'installed'), and an empty cache folder."""
    fakes, calls = tmp_path / "fakes", tmp_path / "calls.log"
    fakes.mkdir()
    for name, rc in (("apt-get", 0), ("apt-cache", 0), ("dpkg", 0), ("dpkg-deb", 1)):
        stub = fakes / name
        stub.write_text(f'#!/bin/sh\necho "{name} $*" >>"{calls}"\nexit {rc}\n')
        stub.chmod(stub.stat().st_mode | stat.S_IXUSR)
    cache = tmp_path / "cache"
    env = {**os.environ, "PATH": f"{fakes}:{os.environ['PATH']}", "GOOSETERM_CACHE": str(cache)}
    env.pop("GOOSETERM_K8S_CACHE", None)
    return cache, env


def executable(path: Path, body: str = "#!/bin/sh\necho fake 1.0\n") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body)
    path.chmod(0o755)


def test_warm_setup_calls_no_apt(tmp_path: Path) -> None:
    """With the cache filled, ensure-deps returns without asking apt or dpkg for anything but status."""
    cache, env = fake_system(tmp_path)
    for name in ("prometheus", "promtool", "etcd"):
        executable(cache / "bin" / name)
    build = cache / "k8s" / "1.0-r2"
    executable(build / "bin" / "kube-apiserver")
    recipe = re.search(r"^RECIPE=(\d+)", (REPO / "scripts" / "deps" / "30-kubernetes.sh").read_text(), re.M).group(1)
    (build / "RECIPE").write_text(recipe + "\n")
    (cache / "k8s" / "current").symlink_to("1.0-r2")
    done = subprocess.run([str(REPO / "scripts" / "ensure-deps.sh")], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    calls = (tmp_path / "calls.log").read_text().splitlines() if (tmp_path / "calls.log").exists() else []
    assert [c for c in calls if not c.startswith("dpkg -s ")] == []


def test_missing_server_is_downloaded_not_installed(tmp_path: Path) -> None:
    """An empty cache makes 20-servers ask apt for the package's version and download it, and
    nothing else; the fake apt, which knows no package, stops it with a clear message."""
    _, env = fake_system(tmp_path)
    done = subprocess.run(["bash", str(REPO / "scripts" / "deps" / "20-servers.sh")], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode != 0
    assert "apt knows no package prometheus" in done.stderr
    calls = (tmp_path / "calls.log").read_text().splitlines()
    assert not [c for c in calls if re.match(r"apt-get .*\binstall\b", c)], calls


def test_harness_finds_binaries_in_the_cache(tmp_path: Path) -> None:
    """tests/helpers/deps.py prefers $GOOSETERM_CACHE/bin, and k8s/current for kube-apiserver."""
    cache = tmp_path / "cache"
    executable(cache / "bin" / "prometheus")
    code = ("import sys; sys.path.insert(0, 'tests'); from helpers import deps; "
            "print(deps.binary('prometheus')); print(deps.KUBE_APISERVER)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, capture_output=True, text=True,
                         env={**os.environ, "GOOSETERM_CACHE": str(cache), "GOOSETERM_K8S_CACHE": ""}).stdout.split()
    assert out == [str(cache / "bin" / "prometheus"), str(cache / "k8s" / "current" / "bin" / "kube-apiserver")]


def test_harness_names_the_setup_when_a_binary_is_missing(tmp_path: Path) -> None:
    code = ("import sys; sys.path.insert(0, 'tests'); from helpers import deps\n"
            "try:\n    deps.binary('no-such-server-gooseterm')\nexcept RuntimeError as e:\n    print(e)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, capture_output=True, text=True,
                         env={**os.environ, "GOOSETERM_CACHE": str(tmp_path)}).stdout
    assert f"neither in {tmp_path / 'bin'} nor on PATH" in out and "ensure-deps" in out


def test_bench_writes_under_the_cache(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-c", "import benchdir; print(benchdir.OUT)"], cwd=REPO / "bench", check=True,
                         capture_output=True, text=True, env={**os.environ, "GOOSETERM_CACHE": str(tmp_path)}).stdout
    assert out.strip() == str(tmp_path / "bench")
    for script in (REPO / "bench").glob("*_bench.py"):
        text = script.read_text()
        if re.search(r"\bOUT\b", text):
            assert "from benchdir import OUT" in text, f"{script.name} keeps its data somewhere else"
        assert '"out"' not in text and "/ \"out\"" not in text, script.name
