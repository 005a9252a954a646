"""The fleet report as files: report.json and a static HTML page with inline SVG charts."""
