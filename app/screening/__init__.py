"""The screening feature: instruments, scoring, forms, pages and the JSON API."""
