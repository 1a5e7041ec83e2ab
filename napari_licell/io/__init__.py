"""Reading and writing CT volumes, label volumes and measurement tables (Qt-free)."""
