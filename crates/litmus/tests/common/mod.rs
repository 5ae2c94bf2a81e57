//! Helpers shared by the integration tests.

use mmlab_litmus::Test;
use serde_json::Value;

/// The test as JSON with every span removed, so trees from different texts compare.
pub fn without_spans(test: &Test) -> Value {
    let mut value = serde_json::to_value(test).expect("a test serializes");
    strip(&mut value);
    value
}

fn strip(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|key, _| key != "span" && !key.ends_with("_span"));
            for child in map.values_mut() {
                strip(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip),
        _ => {}
    }
}

#[allow(dead_code)] // Not every test binary uses every helper.
pub fn assert_same_modulo_spans(left: &Test, right: &Test) {
    let (l, r) = (without_spans(left), without_spans(right));
    assert_eq!(l, r, "trees differ (spans ignored)");
}
