"""Running the night: the pipeline that strings the stages together, the schedule
(`serve`), `status`, the workspace lock, stop requests, progress, logs, the tidy-up
of processed files, and the demo workspace."""
