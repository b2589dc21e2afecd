//! The HL7 SDOH Clinical Care guide's own example Tasks and ServiceRequests parse into the
//! interface's types (`tests/fixtures/sdohcc/`, from the guide's source).

use tandem::fhir::body;
use tandem::fhir::task::Task;

fn examples(prefix: &str) -> Vec<(String, serde_json::Value)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/sdohcc");
    let mut found: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy();
            name.starts_with(prefix) && name.ends_with(".json")
        })
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            (
                path.display().to_string(),
                serde_json::from_str(&text).unwrap(),
            )
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

#[test]
fn the_guides_example_tasks_parse() {
    let tasks = examples("Task-");
    assert!(tasks.len() >= 4, "{}", tasks.len());
    for (path, json) in tasks {
        let task: Task = body::parse(json.clone()).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(task.intent.as_deref(), Some("order"), "{path}");
        assert_eq!(
            serde_json::to_value(&task).unwrap(),
            json,
            "{path}: round trip"
        );
    }
}
