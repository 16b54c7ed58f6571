; BIZRA Desktop installer (NSIS 3, Modern UI 2). Built by scripts/build_release.py:
;
;   makensis -WX -DVERSION=0.1.0 -DVERSION_QUAD=0.1.0.0 "-DSOURCE_DIR=dist\BIZRA Desktop"
;            "-DUNINSTALL_LIST=build\release\uninstall-files.nsh" "-DOUTFILE=dist\….exe"
;            [-DICON=…\bizra.ico] [-DAPP_EXE=BIZRA Desktop.exe] [-DSIGN_COMMAND=…]
;            [-DUNCOMPRESSED] installer\bizra.nsi
;
; * Per user, no administrator rights: %LOCALAPPDATA%\Programs\BIZRA Desktop, HKCU only.
; * Start-menu shortcut; desktop shortcut as an optional component (on by default).
; * Apps & Features entry (HKCU ...\Uninstall\BIZRA Desktop) and an uninstaller that removes
;   exactly the files this installer put there (UNINSTALL_LIST), never a folder wholesale.
; * User data (%LOCALAPPDATA%\BIZRA\BIZRA Desktop: conversations, receipts, models, settings)
;   stays on uninstall unless the user ticks "Remove my data" on the uninstaller's components
;   page; a silent uninstall (/S) always keeps it.
; * Upgrade in place: an existing install (found in the registry) is removed first by running
;   its own uninstaller silently, which keeps the data; then the new files go to the same folder.
; * SIGN_COMMAND, when defined, signs the installer and the uninstaller ("%1" is the file).

; 64-bit like the app it installs, so it needs no 32-bit subsystem (the packaging tests run it
; under wine64 alone).
Target amd64-unicode
ManifestDPIAware true
!ifdef UNCOMPRESSED  ; a second installer for the tests, built in seconds: never a release
  SetCompress off
!else
  SetCompressor /SOLID lzma
  SetCompressorDictSize 64
!endif
RequestExecutionLevel user

!ifndef VERSION
  !error "Pass /DVERSION=x.y.z (scripts/build_release.py reads it from pyproject.toml)"
!endif
!ifndef VERSION_QUAD
  !define VERSION_QUAD "${VERSION}.0"
!endif
!ifndef SOURCE_DIR
  !error "Pass /DSOURCE_DIR=<the PyInstaller bundle folder, dist\BIZRA Desktop>"
!endif
!ifndef UNINSTALL_LIST
  !error "Pass /DUNINSTALL_LIST=<the generated .nsh that deletes the bundle's files>"
!endif
!ifndef OUTFILE
  !define OUTFILE "BIZRA-Desktop-${VERSION}-setup.exe"
!endif
!ifndef APP_EXE
  !define APP_EXE "BIZRA Desktop.exe"
!endif
!ifndef ICON
  !define ICON "..\resources\icons\bizra.ico"
!endif
!ifdef SIGN_COMMAND
  !finalize '${SIGN_COMMAND} "%1"' = 0
  !uninstfinalize '${SIGN_COMMAND} "%1"' = 0
!endif

!define APP_NAME "BIZRA Desktop"
!define PUBLISHER "BIZRA"
!define UNINSTALLER "Uninstall BIZRA Desktop.exe"
!define UNINST_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\${APP_NAME}"
!define APP_KEY "Software\${PUBLISHER}\${APP_NAME}"
; platformdirs.user_data_dir("BIZRA Desktop", "BIZRA") on Windows
!define DATA_DIR "$LOCALAPPDATA\${PUBLISHER}\${APP_NAME}"

!include "MUI2.nsh"
!include "FileFunc.nsh"
!include "LogicLib.nsh"

Name "${APP_NAME}"
OutFile "${OUTFILE}"
InstallDir "$LOCALAPPDATA\Programs\${APP_NAME}"
InstallDirRegKey HKCU "${APP_KEY}" "InstallDir"
BrandingText "${APP_NAME} ${VERSION}"
ShowInstDetails show
ShowUninstDetails show

Var PreviousDir
Var PreviousVersion

; --- pages ---------------------------------------------------------------------------------

!define MUI_ICON "${ICON}"
!define MUI_UNICON "${ICON}"
!define MUI_ABORTWARNING
!define MUI_COMPONENTSPAGE_SMALLDESC
!define MUI_FINISHPAGE_RUN "$INSTDIR\${APP_EXE}"
!define MUI_FINISHPAGE_RUN_TEXT "Start ${APP_NAME}"

!insertmacro MUI_PAGE_WELCOME
!insertmacro MUI_PAGE_COMPONENTS
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH

!insertmacro MUI_UNPAGE_CONFIRM
!define MUI_COMPONENTSPAGE_TEXT_TOP "Your conversations, receipts, downloaded models and \
settings are kept unless you tick the box below."
!insertmacro MUI_UNPAGE_COMPONENTS
!insertmacro MUI_UNPAGE_INSTFILES

!insertmacro MUI_LANGUAGE "English"

VIProductVersion "${VERSION_QUAD}"
VIFileVersion "${VERSION_QUAD}"
VIAddVersionKey /LANG=${LANG_ENGLISH} "ProductName" "${APP_NAME}"
VIAddVersionKey /LANG=${LANG_ENGLISH} "CompanyName" "${PUBLISHER}"
VIAddVersionKey /LANG=${LANG_ENGLISH} "FileDescription" "${APP_NAME} installer"
VIAddVersionKey /LANG=${LANG_ENGLISH} "FileVersion" "${VERSION}"
VIAddVersionKey /LANG=${LANG_ENGLISH} "ProductVersion" "${VERSION}"
VIAddVersionKey /LANG=${LANG_ENGLISH} "LegalCopyright" "© ${PUBLISHER}"

; --- the running app holds its files open ---------------------------------------------------

!macro WAIT_UNTIL_APP_CLOSED
  ${Do}
    FindWindow $0 "" "${APP_NAME}"
    ${If} $0 = 0
      ${Break}
    ${EndIf}
    MessageBox MB_RETRYCANCEL|MB_ICONEXCLAMATION \
      "${APP_NAME} is running. Close it, then click Retry." /SD IDCANCEL IDRETRY +2
    Abort
  ${Loop}
!macroend

; --- install --------------------------------------------------------------------------------

Function .onInit
  SetShellVarContext current
  !insertmacro WAIT_UNTIL_APP_CLOSED
  ReadRegStr $PreviousDir HKCU "${UNINST_KEY}" "InstallLocation"
  ReadRegStr $PreviousVersion HKCU "${UNINST_KEY}" "DisplayVersion"
  ${If} $PreviousDir != ""
    StrCpy $INSTDIR $PreviousDir  ; upgrade in place
  ${EndIf}
FunctionEnd

Section "${APP_NAME}" SecApp
  SectionIn RO
  ${If} $PreviousDir != ""
  ${AndIf} ${FileExists} "$PreviousDir\${UNINSTALLER}"
    DetailPrint "Removing version $PreviousVersion first (your data is kept)"
    ; _?= runs the old uninstaller in place and waits for it; /S keeps the user data.
    ExecWait '"$PreviousDir\${UNINSTALLER}" /S _?=$PreviousDir' $0
    ${If} $0 <> 0
      DetailPrint "The previous uninstaller returned $0; its files are overwritten instead"
    ${EndIf}
    Delete "$PreviousDir\${UNINSTALLER}"
    RMDir "$PreviousDir"
  ${EndIf}

  SetOutPath "$INSTDIR"
  File /r "${SOURCE_DIR}\*"
  WriteUninstaller "$INSTDIR\${UNINSTALLER}"
  CreateShortCut "$SMPROGRAMS\${APP_NAME}.lnk" "$INSTDIR\${APP_EXE}" "" "$INSTDIR\${APP_EXE}" 0

  WriteRegStr HKCU "${APP_KEY}" "InstallDir" "$INSTDIR"
  WriteRegStr HKCU "${APP_KEY}" "Version" "${VERSION}"
  WriteRegStr HKCU "${UNINST_KEY}" "DisplayName" "${APP_NAME}"
  WriteRegStr HKCU "${UNINST_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKCU "${UNINST_KEY}" "Publisher" "${PUBLISHER}"
  WriteRegStr HKCU "${UNINST_KEY}" "DisplayIcon" "$INSTDIR\${APP_EXE},0"
  WriteRegStr HKCU "${UNINST_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKCU "${UNINST_KEY}" "UninstallString" '"$INSTDIR\${UNINSTALLER}"'
  WriteRegStr HKCU "${UNINST_KEY}" "QuietUninstallString" '"$INSTDIR\${UNINSTALLER}" /S'
  WriteRegDWORD HKCU "${UNINST_KEY}" "NoModify" 1
  WriteRegDWORD HKCU "${UNINST_KEY}" "NoRepair" 1
  ${GetSize} "$INSTDIR" "/S=0K" $0 $1 $2
  IntFmt $0 "0x%08X" $0
  WriteRegDWORD HKCU "${UNINST_KEY}" "EstimatedSize" "$0"
SectionEnd

Section "Desktop shortcut" SecDesktop
  CreateShortCut "$DESKTOP\${APP_NAME}.lnk" "$INSTDIR\${APP_EXE}" "" "$INSTDIR\${APP_EXE}" 0
SectionEnd

!insertmacro MUI_FUNCTION_DESCRIPTION_BEGIN
  !insertmacro MUI_DESCRIPTION_TEXT ${SecApp} \
    "The app, its command line (bizra.exe) and the built-in starter model."
  !insertmacro MUI_DESCRIPTION_TEXT ${SecDesktop} "A shortcut to ${APP_NAME} on the desktop."
!insertmacro MUI_FUNCTION_DESCRIPTION_END

; --- uninstall ------------------------------------------------------------------------------

Function un.onInit
  SetShellVarContext current
  !insertmacro WAIT_UNTIL_APP_CLOSED
FunctionEnd

Section "un.${APP_NAME}" UnSecApp
  SectionIn RO
  Delete "$SMPROGRAMS\${APP_NAME}.lnk"
  Delete "$DESKTOP\${APP_NAME}.lnk"
  ; One Delete per installed file and one RMDir per folder, deepest first: a folder that holds
  ; anything this installer did not put there is left alone.
  !include "${UNINSTALL_LIST}"
  Delete "$INSTDIR\${UNINSTALLER}"
  RMDir "$INSTDIR"
  DeleteRegKey HKCU "${UNINST_KEY}"
  DeleteRegKey HKCU "${APP_KEY}"
  DeleteRegKey /ifempty HKCU "Software\${PUBLISHER}"
SectionEnd

Section /o "un.Remove my data (conversations, receipts, models, settings)" UnSecData
  RMDir /r "${DATA_DIR}"
  RMDir "$LOCALAPPDATA\${PUBLISHER}"
SectionEnd

!insertmacro MUI_UNFUNCTION_DESCRIPTION_BEGIN
  !insertmacro MUI_DESCRIPTION_TEXT ${UnSecApp} \
    "The program files, shortcuts and the Apps & Features entry."
  !insertmacro MUI_DESCRIPTION_TEXT ${UnSecData} "Also delete ${DATA_DIR}: every \
conversation, receipt, downloaded model and setting. This cannot be undone."
!insertmacro MUI_UNFUNCTION_DESCRIPTION_END
