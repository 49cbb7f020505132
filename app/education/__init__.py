"""Learn pages: PTSD, its treatments, MDMA-assisted therapy and finding help, from Markdown files."""
