//! JSON output. The document carries `"schema": "mmlab-run/1"` (or `mmlab-explain/1`,
//! `mmlab-kernels/1`); docs/json.md describes each field. Fields are only ever added within
//! a schema version.

use super::FileReport;
use mmlab_machine::{Machine, ReplayStep, State};
use mmlab_mm::ChangePoint;
use serde_json::{json, Value};

/// The report of `mmlab run --format json`.
pub fn report(reports: &[FileReport]) -> Value {
    let files: Vec<Value> = reports
        .iter()
        .map(|r| {
            json!({
                "path": r.path,
                "setup_failures": r.setup_failures.iter().map(|f| json!({
                    "kernel": f.cfg.to_string(),
                    "error": f.error,
                })).collect::<Vec<_>>(),
                "runs": r.runs.iter().map(|run| {
                    let mut value = json!({
                        "test": run.machine.test.name.node,
                        "kernel": run.machine.cfg.to_string(),
                        "result": run.result,
                        "not_modelled": run.machine.not_modelled,
                    });
                    if let Some(stop) = &run.machine.setup_stop {
                        value["setup_stop"] = json!({
                            "statement": stop.statement,
                            "reason": stop.reason,
                            "trace": stop.trace,
                        });
                    }
                    value
                }).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({ "schema": "mmlab-run/1", "files": files })
}

/// The report of `mmlab explain --format json`.
pub fn explain(m: &Machine, steps: &[ReplayStep], last: &State) -> Value {
    let (registers, events) = mmlab_machine::check::summarize(last);
    json!({
        "schema": "mmlab-explain/1",
        "test": m.test.name.node,
        "kernel": m.cfg.to_string(),
        "steps": steps,
        "final": { "registers": registers, "events": events },
    })
}

/// The report of `mmlab kernels --format json`.
pub fn kernels() -> Value {
    let cps: Vec<Value> = ChangePoint::ALL
        .iter()
        .map(|c| {
            json!({
                "id": c.id(),
                "release": c.release().to_string(),
                "commit": c.commit(),
                "subject": c.subject(),
                "certainty": c.certainty(),
            })
        })
        .collect();
    json!({ "schema": "mmlab-kernels/1", "change_points": cps })
}
