//! Reading every recorded component back (drift).

use super::*;

/// Refreshes every recorded component concurrently; drops the ones that no
/// longer exist. Returns the refreshed records and a description of drift.
pub async fn refresh<C: Cloud>(
    env: Arc<Env<C>>,
    kinds: Arc<Kinds<C>>,
    recorded: Records,
) -> Result<(Records, Vec<String>), String> {
    use futures::stream::{self, StreamExt};
    let results: Vec<(String, Record, Result<Option<Record>, OpError>)> =
        stream::iter(recorded.into_iter())
            .map(|(key, rec)| {
                let env = env.clone();
                let kinds = kinds.clone();
                async move {
                    let env = placed(&env, rec.region.as_deref());
                    let r = match kinds.get(&rec.kind) {
                        Ok(k) => match k.read(&env, &rec).await {
                            Ok(Some(mut new)) if k.taggable() => {
                                match k.read_tags(&env, &new).await {
                                    Ok(Some(observed)) => {
                                        new.tags = ownership::managed_view(
                                            &observed,
                                            &rec.tags,
                                            &env.tags_for(&key),
                                        );
                                        Ok(Some(new))
                                    }
                                    Ok(None) => Ok(Some(new)),
                                    Err(e) => Err(e),
                                }
                            }
                            other => other,
                        },
                        Err(e) => Err(e),
                    };
                    (key, rec, r)
                }
            })
            .buffer_unordered(env.parallelism)
            .collect()
            .await;
    let mut out = Records::new();
    let mut drift = Vec::new();
    for (key, old, r) in results {
        match r {
            Ok(Some(mut new)) => {
                new.deps = old.deps.clone();
                new.region = old.region.clone();
                let mut fields = differing_fields(&old.inputs, &new.inputs);
                // A state written before tags were recorded has none to compare.
                if !old.tags.is_empty() {
                    let (set, remove) = ownership::tag_diff(&old.tags, &new.tags);
                    fields.extend(set.into_keys().chain(remove).map(|k| format!("tag {k}")));
                }
                if !fields.is_empty() {
                    drift.push(format!(
                        "{key} ({}) changed outside Terraform: {}",
                        old.kind,
                        fields.join(", ")
                    ));
                }
                out.insert(key, new);
            }
            Ok(None) => drift.push(format!(
                "{key} ({}) was deleted outside Terraform",
                old.kind
            )),
            Err(e) => return Err(format!("reading {key}: {}", e.message)),
        }
    }
    drift.sort();
    Ok((out, drift))
}
