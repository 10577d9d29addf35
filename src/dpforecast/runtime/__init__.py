"""Process plumbing: atomic writes (io), the project's paths and root (paths, project), the
stage entry (stage_main), interrupts and fault injection (interrupts, faults), and who is
still running (processes). Below everything; none of it knows forecasting."""
