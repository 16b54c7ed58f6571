"""The installer executed, not just compiled: the release build's NSIS installer (the `release`
fixture in conftest.py) runs under Wine (64-bit, a fresh prefix) on a virtual X display, the way
a user, winget and Apps & Features run it.

One scenario, each step a fixture that records what it left behind: a silent per-user install,
an upgrade to a newer version holding user data, the silent uninstall that Apps & Features
records, and the interactive uninstaller driven through its pages twice (keeping the data, then
with "Remove my data" ticked). Every step runs on a virtual display with a timeout: a dialog in
a silent step would wait there for a click, so it fails the step instead of passing unseen.

The installer wraps the Linux bundle here, so the installed app itself cannot run under Wine;
the Windows workflow (.github/workflows/windows.yml) installs and self-tests the real Windows
bundle.
"""

from __future__ import annotations

import os
import re
import runpy
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# The first test that needs the installer waits for the release build (conftest.py: up to
# 2300 s), then the Wine steps (a few minutes).
pytestmark = [pytest.mark.packaging, pytest.mark.timeout(3300)]

ROOT = Path(__file__).resolve().parents[2]
NSIS_SCRIPT = ROOT / "installer" / "bizra.nsi"
APP_NAME = "BIZRA Desktop"
UNINSTALLER = "Uninstall BIZRA Desktop.exe"
UNINSTALL_KEY = r"Software\Microsoft\Windows\CurrentVersion\Uninstall\BIZRA Desktop"
APP_KEY = r"Software\BIZRA\BIZRA Desktop"
WINE_PACKAGES = "wine wine64 xvfb xauth"
# Long enough for the real installer on a busy machine; a step that shows a dialog hangs here.
STEP_TIMEOUT_S = 300
# What a user has in %LOCALAPPDATA%\BIZRA\BIZRA Desktop before an upgrade or an uninstall.
USER_DATA = {"bizra.db": "conversations and receipts", "models/notes.txt": "a downloaded model"}
# NSIS draws a component's box with these tree-view state images (+3 when it is read-only).
BOX_UNTICKED, BOX_TICKED, READ_ONLY = 1, 2, 3

# Drives the uninstaller's pages from inside Wine with window messages, as a user's clicks
# would: starts it as Apps & Features does (its UninstallString), reads the boxes on the
# components page, ticks "Remove my data" when TICK is 1, then clicks Next, Uninstall and Close.
# It writes what it saw to REPORT as key=value lines.
UNINSTALL_DRIVER = r"""
Target amd64-unicode
Name "uninstaller driver"
OutFile "${OUTFILE}"
RequestExecutionLevel user
SilentInstall silent
!include "LogicLib.nsh"

!define UNINST_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\BIZRA Desktop"
!define BM_CLICK 0x00F5
!define WM_CHAR 0x0102
!define VK_SPACE 0x20
!define TVM_GETNEXTITEM 0x110A
!define TVM_SELECTITEM 0x110B
!define TVM_GETITEMSTATE 0x1127
!define TVGN_ROOT 0
!define TVGN_NEXT 1
!define TVGN_CARET 9
!define TVIS_STATEIMAGEMASK 0xF000
!define IDC_PROGRESS 1004
!define IDC_TREE 1032

Var Report
Var Outer
Var Page

Function Fail  ; $R0: what did not happen
  FileWrite $Report "failed=$R0$\n"
  FileClose $Report
  SetErrorLevel 2
  Quit
FunctionEnd

; Waits up to 60 s for the uninstaller's current page to hold control $R0 (0: any page);
; $Outer is its window, $Page the page, $R1 the control.
Function WaitForPage
  StrCpy $R9 0
  ${Do}
    FindWindow $Outer "#32770"  ; the driver has no window: the dialog is the uninstaller's
    ${If} $Outer <> 0
      FindWindow $Page "#32770" "" $Outer
      ${If} $Page <> 0
        ${If} $R0 = 0
          Return
        ${EndIf}
        GetDlgItem $R1 $Page $R0
        ${If} $R1 <> 0
          Return
        ${EndIf}
      ${EndIf}
    ${EndIf}
    IntOp $R9 $R9 + 1
    ${If} $R9 > 600
      StrCpy $R0 "no page with control $R0 within 60 s"
      Call Fail
    ${EndIf}
    Sleep 100
  ${Loop}
FunctionEnd

; Clicks Next (Uninstall, Close) once it is enabled: it is not while the files go.
Function ClickNext
  GetDlgItem $R2 $Outer 1
  StrCpy $R9 0
  ${Do}
    System::Call "user32::IsWindowEnabled(p $R2) i .R3"
    ${If} $R3 <> 0
      ${Break}
    ${EndIf}
    IntOp $R9 $R9 + 1
    ${If} $R9 > 600
      StrCpy $R0 "the Next button stayed disabled for 60 s"
      Call Fail
    ${EndIf}
    Sleep 100
  ${Loop}
  SendMessage $R2 ${BM_CLICK} 0 0
FunctionEnd

Function WriteBox  ; $R0: a name, $R1: a tree item of $R4
  SendMessage $R4 ${TVM_GETITEMSTATE} $R1 ${TVIS_STATEIMAGEMASK} $R3
  IntOp $R3 $R3 >> 12
  FileWrite $Report "$R0=$R3$\n"
FunctionEnd

Section
  FileOpen $Report "${REPORT}" w
  ReadRegStr $0 HKCU "${UNINST_KEY}" "UninstallString"
  Exec $0
  StrCpy $R0 0
  Call WaitForPage
  System::Call "user32::GetWindowTextW(p $Outer, w .R2, i 256) i"
  FileWrite $Report "title=$R2$\n"
  Call ClickNext
  StrCpy $R0 ${IDC_TREE}
  Call WaitForPage
  StrCpy $R4 $R1
  SendMessage $R4 ${TVM_GETNEXTITEM} ${TVGN_ROOT} 0 $R5
  SendMessage $R4 ${TVM_GETNEXTITEM} ${TVGN_NEXT} $R5 $R6
  StrCpy $R0 "program"
  StrCpy $R1 $R5
  Call WriteBox
  StrCpy $R0 "data"
  StrCpy $R1 $R6
  Call WriteBox
  !if ${TICK} = 1
    ; The space bar on the selected item, which NSIS's tree takes as a click on its box.
    SendMessage $R4 ${TVM_SELECTITEM} ${TVGN_CARET} $R6
    SendMessage $R4 ${WM_CHAR} ${VK_SPACE} 0
    StrCpy $R0 "data_ticked"
    Call WriteBox
  !endif
  Call ClickNext
  StrCpy $R0 ${IDC_PROGRESS}
  Call WaitForPage
  Call ClickNext
  FileWrite $Report "finished=yes$\n"
  FileClose $Report
SectionEnd
"""

# An installer that shows a dialog without a silent default: proof that the harness catches one.
DIALOG_PROBE = r"""
Target amd64-unicode
Name "dialog probe"
OutFile "${OUTFILE}"
RequestExecutionLevel user
Section
  MessageBox MB_OK "A silent install must never stop here."
SectionEnd
"""


# --- the script, read ---------------------------------------------------------------------


def _statements(script: Path) -> list[str]:
    """The NSIS script's statements: continuation lines joined, comments and blanks left out."""
    text = re.sub(r"\\\n\s*", " ", script.read_text(encoding="utf-8"))
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith((";", "#"))]


def test_every_message_box_has_a_silent_default() -> None:
    # winget installs with /S and fails an installer that waits for an answer.
    boxes = [line for line in _statements(NSIS_SCRIPT) if line.split()[0] == "MessageBox"]
    assert boxes, "no MessageBox found: this check would pass on nothing"
    assert [box for box in boxes if "/SD" not in box.split()] == []


def test_only_an_unticked_component_removes_user_data() -> None:
    statements = _statements(NSIS_SCRIPT)
    removals = [line for line in statements if "${DATA_DIR}" in line and "RMDir" in line]
    assert removals == ['RMDir /r "${DATA_DIR}"']
    at = statements.index(removals[0])
    header = next(line for line in reversed(statements[:at]) if line.startswith("Section"))
    assert header.startswith('Section /o "un.Remove my data'), header  # /o: unticked


# --- Wine ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ran:
    returncode: int | None  # None: still running at the timeout, and stopped
    output: str


@dataclass(frozen=True)
class Snapshot:
    """What a step left behind, read right after it."""

    program: dict[str, int] | None  # installed file (relative, "/") → size; None: no folder
    start_menu_link: bytes | None
    desktop_link: bool
    uninstall_entry: dict[str, str | int] | None
    app_key: dict[str, str | int] | None
    user_data: dict[str, str] | None  # file in the data folder → text; None: no folder
    publisher_folder: bool  # %LOCALAPPDATA%\BIZRA, the data folder's parent


def _files(folder: Path) -> dict[str, int]:
    return {
        path.relative_to(folder).as_posix(): path.stat().st_size
        for path in folder.rglob("*")
        if path.is_file()
    }


def _unescape(text: str) -> str:
    # Wine's registry files escape quotes and backslashes, and write other characters as \xHHHH.
    return re.sub(
        r"\\(x[0-9a-fA-F]{1,4}|.)",
        lambda match: chr(int(match[1][1:], 16)) if len(match[1]) > 1 else match[1],
        text,
    )


def read_registry_key(hive: Path, key: str) -> dict[str, str | int] | None:
    """A key's values (strings and DWORDs; other types as written) from a Wine registry file."""
    header = "[" + key.replace("\\", "\\\\") + "]"
    lines = iter(hive.read_text(encoding="utf-8", errors="replace").splitlines())
    if not any(line == header or line.startswith(header + " ") for line in lines):
        return None
    values: dict[str, str | int] = {}
    for line in lines:
        if line.startswith("["):  # the next key
            break
        match = re.fullmatch(r'"((?:[^"\\]|\\.)*)"=(.*)', line)
        if match is None:
            continue
        name, raw = _unescape(match[1]), match[2]
        if raw.startswith("dword:"):
            values[name] = int(raw.removeprefix("dword:"), 16)
        else:
            values[name] = _unescape(raw[1:-1]) if raw.startswith('"') else raw
    return values


class Wine:
    """A 64-bit Wine prefix of its own, with a home of its own (Wine links the Windows desktop
    and documents folders into $HOME): nothing outside `root` changes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "home"
        self.prefix = root / "prefix"
        self.home.mkdir()
        inherited = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("WINE", "XDG_", "DISPLAY", "WAYLAND_"))
        }
        self.env = {
            **inherited,
            "HOME": str(self.home),
            "WINEPREFIX": str(self.prefix),
            "WINEARCH": "win64",
            "WINEDEBUG": "-all",
            # No Mono or Gecko installers at boot, and no Linux menu entries or .desktop files
            # for the shortcuts the installer makes (winemenubuilder).
            "WINEDLLOVERRIDES": "mscoree,mshtml=;winemenubuilder.exe=d",
        }

    def run(self, *command: str, timeout: float = STEP_TIMEOUT_S) -> Ran:
        """`wine COMMAND` on a virtual display of its own, until every Wine process has ended
        (`wineserver -w`: the uninstaller, say, exits into a copy of itself in %TEMP%).

        Without a display Wine's MessageBox returns at once; on one, a dialog waits for a click
        that never comes, so a step that shows one runs into the timeout."""
        script = 'wine "$@"; status=$?; wineserver -w; exit $status'
        log = self.root / "wine.log"
        # Xvfb's and xauth's own complaints go to the log too (xvfb-run drops them by default).
        display = [
            "xvfb-run",
            "--auto-servernum",
            f"--error-file={log}",
            "--server-args=-screen 0 1024x768x24",
        ]
        with log.open("w", encoding="utf-8") as output:
            process = subprocess.Popen(
                [*display, "sh", "-c", script, "sh", *command],
                env=self.env,
                cwd=self.home,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a process group, to stop it whole at the timeout
            )
            try:
                returncode: int | None = process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                returncode = None
                self._stop(process)
        return Ran(returncode, log.read_text(encoding="utf-8", errors="replace"))

    def _stop(self, process: subprocess.Popen[bytes]) -> None:
        # SIGTERM first: Xvfb then removes its lock file and socket.
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        # The Wine processes run under wineserver, outside that group.
        subprocess.run(["wineserver", "-k"], env=self.env, timeout=60, check=False)

    def step(self, *command: str, what: str) -> None:
        """Run a step that must finish in time and exit 0."""
        ran = self.run(*command)
        tail = "\n".join(ran.output.splitlines()[-20:])
        if ran.returncode is None:
            pytest.fail(
                f"{what} did not finish within {STEP_TIMEOUT_S} s: a dialog waiting for an "
                f"answer? (a silent run must never show one)\n{tail}"
            )
        if ran.returncode != 0:
            pytest.fail(f"{what} exited {ran.returncode}\n{tail}")

    @property
    def profile(self) -> Path:
        (user,) = [
            path for path in (self.prefix / "drive_c" / "users").iterdir() if path.name != "Public"
        ]
        return user

    @property
    def local(self) -> Path:
        return self.profile / "AppData" / "Local"

    @property
    def install_dir(self) -> Path:
        return self.local / "Programs" / APP_NAME

    @property
    def data_dir(self) -> Path:
        return self.local / "BIZRA" / APP_NAME

    def windows(self, path: Path) -> str:
        """The Windows name of a path in the prefix's C: drive."""
        inside = path.relative_to(self.prefix / "drive_c")
        return "C:\\" + str(inside).replace("/", "\\")

    def snapshot(self) -> Snapshot:
        start_menu = self.profile / "AppData/Roaming/Microsoft/Windows/Start Menu/Programs"
        link = start_menu / f"{APP_NAME}.lnk"
        hive = self.prefix / "user.reg"  # written out by the time `wineserver -w` returns
        return Snapshot(
            program=_files(self.install_dir) if self.install_dir.is_dir() else None,
            start_menu_link=link.read_bytes() if link.is_file() else None,
            desktop_link=(self.profile / "Desktop" / f"{APP_NAME}.lnk").is_file(),
            uninstall_entry=read_registry_key(hive, UNINSTALL_KEY),
            app_key=read_registry_key(hive, APP_KEY),
            user_data=(
                {
                    name: (self.data_dir / name).read_text(encoding="utf-8")
                    for name in _files(self.data_dir)
                }
                if self.data_dir.is_dir()
                else None
            ),
            publisher_folder=self.data_dir.parent.is_dir(),
        )


@pytest.fixture(scope="module")
def makensis() -> str:
    found = shutil.which("makensis")
    if found is None:
        pytest.fail("makensis not found (Debian/Ubuntu: `apt-get install -y nsis`)", pytrace=False)
    return found


def _compile(makensis: str, script: str, out: Path, **defines: str) -> Path:
    source = out.with_suffix(".nsi")
    source.write_text(script, encoding="utf-8")
    command = [makensis, "-WX", "-V2", f"-DOUTFILE={out}"]
    command += [f"-D{name}={value}" for name, value in defines.items()]
    subprocess.run([*command, str(source)], check=True, capture_output=True, timeout=120)
    return out


@pytest.fixture(scope="module")
def wine(tmp_path_factory: pytest.TempPathFactory) -> Wine:
    if not sys.platform.startswith("linux"):
        pytest.skip("Wine runs the installer on Linux; the Windows workflow runs it natively")
    missing = [tool for tool in ("wine", "wineserver", "xvfb-run") if shutil.which(tool) is None]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} not found: the installer runs under Wine "
            f"(Debian/Ubuntu: `apt-get install -y {WINE_PACKAGES}`; "
            "`scripts/bootstrap.py test` does this as root)",
            pytrace=False,
        )
    wine = Wine(tmp_path_factory.mktemp("wine"))
    # Once in a full CI run (not reproducible alone) wineboot exited 1 without a word: a new
    # prefix is made again once before the module gives up, with both outputs in the failure.
    first = wine.run("wineboot", "--init")
    if first.returncode != 0:
        shutil.rmtree(wine.prefix, ignore_errors=True)
        tail = "\n".join(first.output.splitlines()[-20:])
        wine.step(
            "wineboot", "--init", what=f"wineboot (a new prefix; the first try said:\n{tail})"
        )
    return wine


@dataclass(frozen=True)
class Newer:
    version: str
    installer: Path


@pytest.fixture(scope="module")
def newer(
    release: dict[str, Any], makensis: str, tmp_path_factory: pytest.TempPathFactory
) -> Newer:
    """The same bundle as the next patch version, compiled by the release script's own
    function; uncompressed, which takes seconds where solid LZMA takes minutes."""
    script = runpy.run_path(str(ROOT / "scripts" / "build_release.py"), run_name="build_release")
    major, minor, patch, _ = (
        int(part) for part in script["version_quad"](release["version"]).split(".")
    )
    version = f"{major}.{minor}.{patch + 1}"
    out = tmp_path_factory.mktemp("newer")
    installer = out / f"BIZRA-Desktop-{version}-setup.exe"
    script["build_installer"](
        makensis,
        Path(release["bundle_dir"]),
        work=out,
        installer=installer,
        version=version,
        sign=None,
        compress=False,
    )
    return Newer(version, installer)


# --- the scenario, a step a fixture ---------------------------------------------------------


@pytest.fixture(scope="module")
def installed(wine: Wine, release: dict[str, Any]) -> Snapshot:
    wine.step(release["installer"], "/S", what="the silent install")
    return wine.snapshot()


@pytest.fixture(scope="module")
def upgraded(installed: Snapshot, wine: Wine, newer: Newer) -> Snapshot:
    for name, text in USER_DATA.items():
        (wine.data_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (wine.data_dir / name).write_text(text, encoding="utf-8")
    wine.step(str(newer.installer), "/S", what="the silent upgrade")
    return wine.snapshot()


@pytest.fixture(scope="module")
def uninstalled(upgraded: Snapshot, wine: Wine) -> Snapshot:
    # As winget runs it: the command Apps & Features records.
    assert upgraded.uninstall_entry is not None
    quiet = str(upgraded.uninstall_entry["QuietUninstallString"])
    match = re.fullmatch(r'"([^"]+)" (.+)', quiet)
    assert match, quiet
    wine.step(match[1], *match[2].split(), what="the silent uninstall")
    return wine.snapshot()


@dataclass(frozen=True)
class Driven:
    report: dict[str, str]
    after: Snapshot


def _uninstall_interactively(wine: Wine, newer: Newer, makensis: str, *, tick: bool) -> Driven:
    wine.step(str(newer.installer), "/S", what="the silent install")
    report = wine.root / f"driver-{int(tick)}.txt"
    driver = _compile(
        makensis,
        UNINSTALL_DRIVER,
        wine.root / f"driver-{int(tick)}.exe",
        REPORT="Z:" + str(report).replace("/", "\\"),
        TICK=str(int(tick)),
    )
    wine.step(str(driver), what="the interactive uninstaller, driven")
    # FileWrite writes the ANSI code page; the report is ASCII.
    lines = (
        report.read_text(encoding="ascii", errors="replace").splitlines() if report.exists() else []
    )
    return Driven(dict(line.split("=", 1) for line in lines if "=" in line), wine.snapshot())


@pytest.fixture(scope="module")
def kept(uninstalled: Snapshot, wine: Wine, newer: Newer, makensis: str) -> Driven:
    return _uninstall_interactively(wine, newer, makensis, tick=False)


@pytest.fixture(scope="module")
def removed(kept: Driven, wine: Wine, newer: Newer, makensis: str) -> Driven:
    return _uninstall_interactively(wine, newer, makensis, tick=True)


# --- the tests ------------------------------------------------------------------------------


def test_a_dialog_in_a_silent_run_is_caught(wine: Wine, makensis: str, tmp_path: Path) -> None:
    probe = _compile(makensis, DIALOG_PROBE, tmp_path / "dialog-probe.exe")
    assert wine.run(str(probe), "/S", timeout=20).returncode is None


def test_the_installer_is_a_64_bit_windows_program(release: dict[str, Any]) -> None:
    with open(release["installer"], "rb") as handle:
        head = handle.read(4096)
    pe = int.from_bytes(head[0x3C:0x40], "little")
    assert head[:2] == b"MZ" and head[pe : pe + 4] == b"PE\0\0"
    assert int.from_bytes(head[pe + 4 : pe + 6], "little") == 0x8664  # IMAGE_FILE_MACHINE_AMD64


def test_a_silent_install_puts_the_bundle_in_local_app_data(
    installed: Snapshot, release: dict[str, Any]
) -> None:
    assert installed.program is not None
    program = dict(installed.program)
    assert program.pop(UNINSTALLER) > 0
    assert program == _files(Path(release["bundle_dir"]))


def test_a_silent_install_adds_the_shortcuts(installed: Snapshot, wine: Wine) -> None:
    target = wine.windows(wine.install_dir / APP_NAME)
    assert installed.start_menu_link is not None
    assert target.encode("utf-16-le") in installed.start_menu_link
    assert installed.desktop_link  # a component that is on by default


def test_a_silent_install_registers_with_apps_and_features(
    installed: Snapshot, wine: Wine, release: dict[str, Any]
) -> None:
    entry = installed.uninstall_entry
    assert entry is not None and installed.program is not None
    uninstaller = f'"{wine.windows(wine.install_dir / UNINSTALLER)}"'
    assert entry["DisplayName"] == APP_NAME
    assert entry["DisplayVersion"] == release["version"]
    assert entry["Publisher"] == "BIZRA"
    assert entry["InstallLocation"] == wine.windows(wine.install_dir)
    assert entry["UninstallString"] == uninstaller
    assert entry["QuietUninstallString"] == f"{uninstaller} /S"
    assert entry["NoModify"] == entry["NoRepair"] == 1
    installed_kb = sum(installed.program.values()) / 1024
    assert entry["EstimatedSize"] == pytest.approx(installed_kb, rel=0.02)


def test_an_upgrade_keeps_user_data_and_ends_on_the_new_version(
    installed: Snapshot, upgraded: Snapshot, newer: Newer
) -> None:
    assert upgraded.user_data == USER_DATA
    assert installed.uninstall_entry is not None and upgraded.uninstall_entry is not None
    assert upgraded.uninstall_entry["DisplayVersion"] == newer.version
    assert (
        upgraded.uninstall_entry["InstallLocation"] == installed.uninstall_entry["InstallLocation"]
    )
    assert upgraded.app_key is not None and upgraded.app_key["Version"] == newer.version
    # The same bundle again in the same folder, and one uninstaller.
    assert installed.program is not None and upgraded.program is not None
    assert upgraded.program.keys() == installed.program.keys()


def test_the_silent_uninstaller_removes_the_program_and_keeps_user_data(
    uninstalled: Snapshot,
) -> None:
    assert uninstalled.program is None
    assert uninstalled.start_menu_link is None and not uninstalled.desktop_link
    assert uninstalled.uninstall_entry is None and uninstalled.app_key is None
    assert uninstalled.user_data == USER_DATA


def test_the_interactive_uninstaller_asks_and_keeps_user_data_by_default(kept: Driven) -> None:
    assert kept.report.get("finished") == "yes", kept.report
    assert kept.report["title"].startswith(f"{APP_NAME} Uninstall")
    assert int(kept.report["program"]) == BOX_TICKED + READ_ONLY
    assert int(kept.report["data"]) == BOX_UNTICKED  # "Remove my data", as the page opens
    assert kept.after.program is None and kept.after.uninstall_entry is None
    assert kept.after.user_data == USER_DATA


def test_ticking_remove_my_data_removes_it(removed: Driven) -> None:
    assert removed.report.get("finished") == "yes", removed.report
    assert int(removed.report["data"]) == BOX_UNTICKED
    assert int(removed.report["data_ticked"]) == BOX_TICKED
    assert removed.after.program is None and removed.after.uninstall_entry is None
    assert removed.after.user_data is None and not removed.after.publisher_folder
