"""DDX desktop app (PySide6 + pyqtgraph); imports engine/, never the reverse."""
