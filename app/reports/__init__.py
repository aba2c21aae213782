"""Reports: the executive digest, ROI and cost reports as files, and their schedules."""
