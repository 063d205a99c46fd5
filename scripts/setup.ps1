# Create .venv next to jump_obs.py with the Python OBS embeds, install Jump into it, and
# run the doctor: scripts/setup's steps, by the same names, for Windows PowerShell 5.1+.
# Usage, in the Jump folder:
#   powershell -ExecutionPolicy Bypass -File scripts\setup.ps1        (add -Dev for the test tools)
#   ... -PrintPython   only says which Python it would use
#   $env:JUMP_PYTHON = "C:\path\to\python.exe"   first, to choose the interpreter yourself
param([switch]$Dev, [switch]$PrintPython)
$ErrorActionPreference = "Stop"
Set-Location (Split-Path -Parent $PSScriptRoot)

# step: find-python
# OBS loads python3X.dll from the folder set in Tools > Scripts > Python Settings (the
# newest 3.X <= 3.12 there); the venv must be made by that Python, or its binary packages
# will not load inside OBS. "python"/"python3" may be the Microsoft Store alias
# (WindowsApps), which OBS cannot use: never taken.
function Test-Python([string]$exe) {
    if (-not $exe -or -not (Test-Path -LiteralPath $exe -PathType Leaf)) { return $false }
    if ($exe -like "*\WindowsApps\*") { return $false }
    & $exe -c "import sys, struct; v = sys.version_info[:2]; sys.exit(not ((3, 10) <= v <= (3, 12) and struct.calcsize('P') == 8))" 2>$null
    return ($LASTEXITCODE -eq 0)
}
$py = $env:JUMP_PYTHON
if (-not $py) {
    $candidates = @()
    foreach ($ini in @("$env:APPDATA\obs-studio\user.ini", "$env:APPDATA\obs-studio\global.ini")) {
        if (Test-Path -LiteralPath $ini) {
            $line = Select-String -LiteralPath $ini -Pattern '^Path64bit=(.+)$' | Select-Object -First 1
            if ($line) { $candidates += (Join-Path $line.Matches[0].Groups[1].Value.Trim() "python.exe") }
        }
    }
    if (Get-Command py -ErrorAction SilentlyContinue) {
        foreach ($v in @("3.12", "3.11", "3.10")) {
            $exe = & py "-$v" -c "import sys; print(sys.executable)" 2>$null
            if ($LASTEXITCODE -eq 0 -and $exe) { $candidates += "$exe".Trim() }
        }
    }
    foreach ($c in $candidates) { if (Test-Python $c) { $py = $c; break } }
}
if (-not (Test-Python $py)) {
    Write-Host "No 64-bit Python 3.10-3.12 for OBS found. Install Python 3.12 (64-bit) from python.org"
    Write-Host "(not the Microsoft Store), set OBS > Tools > Scripts > Python Settings to its folder,"
    Write-Host "and run this again; or set `$env:JUMP_PYTHON to its python.exe."
    exit 1
}
if ($PrintPython) { Write-Host $py; exit 0 }

# step: make-venv
$changed = $false
if (-not (Test-Path -LiteralPath ".venv\Scripts\python.exe")) {
    & $py -m venv .venv
    if ($LASTEXITCODE -ne 0) { exit 1 }
    $changed = $true
}

# step: install
$reqs = "requirements.txt"
if ($Dev) { $reqs = "requirements-dev.txt" }
$hashes = (Get-FileHash -Algorithm SHA256 -Path requirements*.txt | ForEach-Object { $_.Hash }) -join ""
$sha = [System.Security.Cryptography.SHA256]::Create()
$digest = -join ($sha.ComputeHash([System.Text.Encoding]::ASCII.GetBytes($hashes)) | ForEach-Object { $_.ToString("x2") })
$stamp = ".venv\.installed-$($digest.Substring(0, 12))-$reqs"
if (-not (Test-Path -LiteralPath $stamp)) {
    & .venv\Scripts\python.exe -m pip install -q --disable-pip-version-check --upgrade pip
    if ($LASTEXITCODE -ne 0) { exit 1 }
    & .venv\Scripts\python.exe -m pip install -q --disable-pip-version-check -r $reqs
    if ($LASTEXITCODE -ne 0) { exit 1 }
    New-Item -ItemType File -Path $stamp | Out-Null
    $changed = $true
}

# step: doctor
# After a (re)install: its report says what is still missing (OBS, its Python setting);
# not an error here. Run it any time with .venv\Scripts\python.exe -m jump doctor.
if ($changed) {
    & .venv\Scripts\python.exe -m jump doctor
    if ($LASTEXITCODE -ne 0) { Write-Host "(the doctor's fixes above say what is left to do)" }
}

# step: tell-obs
$version = & .venv\Scripts\python.exe --version
Write-Host "Jump's .venv is ready ($version); in OBS: Tools > Scripts > + > $(Join-Path (Get-Location) 'jump_obs.py')"
