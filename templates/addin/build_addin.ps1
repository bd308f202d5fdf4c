# One-time build of PlanReports.xlam on a Windows PC with Excel (VBA can only be embedded by Excel itself).
# Run from the project folder in PowerShell:   .\templates\addin\build_addin.ps1
# It allows programmatic access to the VBA project for the duration of the build only, then restores the setting.
param([string]$Python = ".\.venv\Scripts\python.exe", [string]$Out = ".\build\addin")
$ErrorActionPreference = "Stop"
$key = "HKCU:\Software\Microsoft\Office\16.0\Excel\Security"
$old = (Get-ItemProperty -Path $key -Name AccessVBOM -ErrorAction SilentlyContinue).AccessVBOM
try {
    New-Item -Path $key -Force | Out-Null
    Set-ItemProperty -Path $key -Name AccessVBOM -Value 1 -Type DWord
    & $Python -m plan_reports addin build --out $Out
    if ($LASTEXITCODE -ne 0) { throw "build failed ($LASTEXITCODE)" }
} finally {
    if ($null -eq $old) { Remove-ItemProperty -Path $key -Name AccessVBOM -ErrorAction SilentlyContinue }
    else { Set-ItemProperty -Path $key -Name AccessVBOM -Value $old -Type DWord }
}
Write-Host "Built $Out\PlanReports.xlam. Sign it (VBA editor > Tools > Digital Signature) or deploy it to a Trusted Location."
