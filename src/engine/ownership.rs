//! Ownership and tags, the engine's cross-cutting concerns: which tags every
//! component carries, how a tag change is planned, and how an object found
//! in AWS is proved to be this stack's before it is adopted.
//!
//! The constants live here, below both the component kinds and the stacks,
//! so that neither imports the other for them.

use std::collections::BTreeMap;

pub type Tags = BTreeMap<String, String>;

/// The tag that names the stack an object belongs to: the one proof of
/// ownership. An object without it (or with another stack's id) is foreign.
pub const TAG_STACK_ID: &str = "awsstack:stack-id";
/// The tag that names the component (logical key) inside its stack.
pub const TAG_COMPONENT: &str = "awsstack:component";

/// The AWS name of a component: `<stack id>-<key>` with dots as hyphens.
pub fn aws_name(stack_id: &str, key: &str) -> String {
    format!(
        "{}-{}",
        stack_id,
        key.replace(['.', '_', crate::engine::SCOPE], "-")
    )
}

/// The tags of one component: the stack's tags (provider default tags, the
/// stack's own, the resource's `tags`, the stack id), its component key, and
/// a `Name` unless the configuration sets one.
pub fn component_tags(stack_tags: &Tags, stack_id: &str, key: &str) -> Tags {
    let mut t = stack_tags.clone();
    t.insert(TAG_STACK_ID.to_string(), stack_id.to_string());
    t.insert(TAG_COMPONENT.to_string(), key.to_string());
    t.entry("Name".to_string())
        .or_insert_with(|| aws_name(stack_id, key));
    t
}

/// Keys AWS reserves (`aws:`): never set, removed or compared.
pub fn is_reserved(key: &str) -> bool {
    key.to_ascii_lowercase().starts_with("aws:")
}

/// What turns `recorded` into `desired`: the tags to set (new or changed
/// values) and the keys to remove (set by the stack before, no longer
/// wanted). Keys the stack never set are not touched.
pub fn tag_diff(desired: &Tags, recorded: &Tags) -> (Tags, Vec<String>) {
    let set: Tags = desired
        .iter()
        .filter(|(k, v)| !is_reserved(k) && recorded.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let remove: Vec<String> = recorded
        .keys()
        .filter(|k| !desired.contains_key(*k) && !is_reserved(k))
        .cloned()
        .collect();
    (set, remove)
}

/// The tags of an object as observed, limited to the keys the stack
/// manages (what it set before, and what it wants now): a tag someone else
/// added is not the stack's business, and is not drift.
pub fn managed_view(observed: &Tags, recorded: &Tags, desired: &Tags) -> Tags {
    observed
        .iter()
        .filter(|(k, _)| (recorded.contains_key(*k) || desired.contains_key(*k)) && !is_reserved(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The message for a name that another owner's object already holds.
pub fn foreign_object_message(
    what: &str,
    id: &str,
    region: Option<&str>,
    owner: Option<&str>,
    attribute: Option<&str>,
) -> String {
    let whose = match owner {
        Some(o) => format!("it belongs to the awsstack stack {o:?}"),
        None => format!("it has no {TAG_STACK_ID} tag of this stack: another team, tool or configuration made it"),
    };
    let choose = match attribute {
        Some(a) => format!("choose another `{a}`"),
        None => "choose another name".to_string(),
    };
    // A component placed in another region than the stack's is named with
    // it: the same name may be the stack's in one region and not in another.
    let place = region.map(|r| format!(" in {r}")).unwrap_or_default();
    format!(
        "the {what} {id:?}{place} already exists and was not created by this stack ({whose}). awsstack never adopts, changes or deletes an object it did not create: {choose}, or delete or rename that {what} first."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(v: &[(&str, &str)]) -> Tags {
        v.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_tag_diff_sets_changes_and_removes_only_what_the_stack_set() {
        let recorded = tags(&[
            ("Team", "a"),
            ("Old", "x"),
            ("aws:cloudformation:stack-name", "y"),
        ]);
        let desired = tags(&[("Team", "b"), ("New", "n")]);
        let (set, remove) = tag_diff(&desired, &recorded);
        assert_eq!(set, tags(&[("Team", "b"), ("New", "n")]));
        assert_eq!(
            remove,
            vec!["Old".to_string()],
            "reserved aws: keys are never removed"
        );
        assert_eq!(tag_diff(&desired, &desired), (Tags::new(), vec![]));
    }

    #[test]
    fn the_managed_view_ignores_tags_added_by_others() {
        let observed = tags(&[("Team", "a"), ("CostCenter", "42"), ("aws:x", "y")]);
        let recorded = tags(&[("Team", "a"), ("Gone", "g")]);
        assert_eq!(
            managed_view(&observed, &recorded, &Tags::new()),
            tags(&[("Team", "a")])
        );
    }

    #[test]
    fn component_tags_carry_the_stack_id_key_and_a_name() {
        let t = component_tags(&tags(&[("Team", "a")]), "kauri-dev", "sg.app");
        assert_eq!(t[TAG_STACK_ID], "kauri-dev");
        assert_eq!(t[TAG_COMPONENT], "sg.app");
        assert_eq!(t["Name"], "kauri-dev-sg-app");
        assert_eq!(
            component_tags(&tags(&[("Name", "mine")]), "s", "k")["Name"],
            "mine"
        );
    }
}
