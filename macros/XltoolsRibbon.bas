Attribute VB_Name = "XltoolsRibbon"
Option Explicit
' One callback for every button of the xltools ribbon: the button's tag names the Python
' handler (xltools.ribbon.HANDLERS). Keep this file ASCII-only (VBA code page 1252).
Public Sub XltoolsButton(control As IRibbonControl)
    RunPython "import xltools.ribbon; xltools.ribbon.dispatch('" & control.Tag & "')"
End Sub
