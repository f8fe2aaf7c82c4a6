"""Report: what the instructor reads (the CSV tables and the class report page)."""
