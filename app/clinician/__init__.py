"""The clinician workspace: triage queue, result review, statistics, exports, audit log, commands."""
