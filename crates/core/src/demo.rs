//! Realistic Server Monitor data for demos, tests and benchmarks: the
//! contract's 23 tables with foreign keys, `monitoring_history` dominating
//! the size, text and numbers shaped like a real installation.
