"""Files: chart images through headless Chromium (``images``), CSV/XLSX tables (``tables``), the PDF/DOCX
report (``report``) and the downloads registry (``registry``: every table and chart a page offers)."""
