//! Optional timing log of component operations, for the benchmark: when
//! `AWSSTACK_TIMINGS_FILE` is set, every operation appends one JSON line
//! (key, action, start and end in seconds since the epoch, dependencies).

use super::Action;
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

pub fn record<'a>(
    key: &str,
    action: Action,
    started: SystemTime,
    deps: impl Iterator<Item = &'a str>,
) {
    let Ok(path) = std::env::var("AWSSTACK_TIMINGS_FILE") else {
        return;
    };
    let secs = |t: SystemTime| {
        t.duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0)
    };
    let line = serde_json::json!({
        "key": key,
        "action": action.verb(),
        "start": secs(started),
        "end": secs(SystemTime::now()),
        "deps": deps.collect::<Vec<_>>(),
    });
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(f, "{line}");
    }
}
