//! What a person reads of a sweep: progress while it runs, the plan and the summary as text, and the pictures of a results folder, and its HTML report.

pub mod html;
pub mod plot;
pub mod progress;
pub mod summary;
