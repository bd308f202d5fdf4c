Attribute VB_Name = "PlanReports"
' The one ribbon callback. It passes the button's id to Python, so new buttons need no new VBA.
' RunPython comes from the xlwings VBA module imported alongside this one (xlwings_custom_addin.bas).
Option Explicit

Sub PR_OnAction(control As IRibbonControl)
    RunPython "import plan_reports.ribbon as r; r.dispatch('" & control.ID & "')"
End Sub
