//! What a new catalog version changes, field by field, in words an editor reads before
//! publishing, and the test of whether a change stays inside an editor's departments.

use kiosk_protocol::{Catalog, Matter};
use maud::{Markup, html};
use serde_json::Value;

use super::scope::Scope;
use crate::html::table;

/// One changed field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Change {
    /// The matter changed, or `None` for the catalog's own lists (themes, departments, regions).
    pub matter: Option<String>,
    /// The departments the change concerns: the matter's before and after (one when the
    /// same), none for the catalog's own lists.
    pub departments: Vec<String>,
    /// The field, e.g. `materials[2].copies` (empty: the whole matter was added or removed).
    pub path: String,
    /// The value before (empty when added).
    pub before: String,
    /// The value after (empty when removed).
    pub after: String,
}

/// Every field `after` changes against `before`: matters by id, then the catalog's lists.
pub(super) fn changes(before: &Catalog, after: &Catalog) -> Vec<Change> {
    let mut out = Vec::new();
    for old in &before.matters {
        match after.matter(&old.id) {
            Some(new) => matter_changes(old, new, &mut out),
            None => out.push(whole(old, true)),
        }
    }
    for new in after
        .matters
        .iter()
        .filter(|m| before.matter(&m.id).is_none())
    {
        out.push(whole(new, false));
    }
    for (name, old, new) in [
        ("themes", to_value(&before.themes), to_value(&after.themes)),
        (
            "departments",
            to_value(&before.departments),
            to_value(&after.departments),
        ),
        (
            "regions",
            to_value(&before.regions),
            to_value(&after.regions),
        ),
    ] {
        let mut paths = Vec::new();
        walk(name, &old, &new, &mut paths);
        out.extend(paths.into_iter().map(|(path, before, after)| Change {
            matter: None,
            departments: Vec::new(),
            path,
            before,
            after,
        }));
    }
    out
}

/// True when every change is to a matter of `scope`'s departments (before and after).
pub(super) fn within(scope: &Scope, changes: &[Change]) -> bool {
    scope.is_all()
        || changes
            .iter()
            .all(|c| c.matter.is_some() && c.departments.iter().all(|d| scope.covers(d)))
}

fn to_value<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

fn whole(matter: &Matter, removed: bool) -> Change {
    let shown = format!("{} {}", matter.name.zh, matter.name.en);
    Change {
        matter: Some(matter.id.clone()),
        departments: vec![matter.department.clone()],
        path: String::new(),
        before: if removed {
            shown.clone()
        } else {
            String::new()
        },
        after: if removed { String::new() } else { shown },
    }
}

fn matter_changes(old: &Matter, new: &Matter, out: &mut Vec<Change>) {
    let mut paths = Vec::new();
    walk("", &to_value(old), &to_value(new), &mut paths);
    let mut departments = vec![old.department.clone()];
    if new.department != old.department {
        departments.push(new.department.clone());
    }
    out.extend(paths.into_iter().map(|(path, before, after)| Change {
        matter: Some(old.id.clone()),
        departments: departments.clone(),
        path,
        before,
        after,
    }));
}

/// Collects (path, before, after) of every leaf that differs; a list's rows by position.
fn walk(path: &str, old: &Value, new: &Value, out: &mut Vec<(String, String, String)>) {
    match (old, new) {
        _ if old == new => {}
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let at = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                walk(
                    &at,
                    a.get(key).unwrap_or(&Value::Null),
                    b.get(key).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for i in 0..a.len().max(b.len()) {
                walk(
                    &format!("{path}[{i}]"),
                    a.get(i).unwrap_or(&Value::Null),
                    b.get(i).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        _ => out.push((path.to_owned(), shown(old), shown(new))),
    }
}

/// A value as an editor reads it: text without quotes, nothing for null, else JSON.
fn shown(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The changes as a table: matter, field, before, after.
pub(super) fn changes_table(changes: &[Change]) -> Markup {
    let rows: Vec<Vec<Markup>> = changes
        .iter()
        .map(|c| {
            let field = if c.path.is_empty() {
                if c.before.is_empty() {
                    "（新增 added）"
                } else {
                    "（删除 removed）"
                }
            } else {
                c.path.as_str()
            };
            vec![
                html! { (c.matter.as_deref().unwrap_or("目录 catalog")) },
                html! { code { (field) } },
                html! { del { (c.before) } },
                html! { ins { (c.after) } },
            ]
        })
        .collect();
    table(
        "changes",
        &["事项 Matter", "字段 Field", "原值 Before", "新值 After"],
        &rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_field_is_named_by_its_path() {
        let mut before = Vec::new();
        walk(
            "",
            &serde_json::json!({"materials": [{"copies": 1}, {"copies": 2}], "fees": {"zh": "不收费"}}),
            &serde_json::json!({"materials": [{"copies": 1}, {"copies": 3}], "fees": {"zh": "不收费"}}),
            &mut before,
        );
        assert_eq!(
            before,
            vec![(
                "materials[1].copies".to_owned(),
                "2".to_owned(),
                "3".to_owned()
            )]
        );
    }
}
