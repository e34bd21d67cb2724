//! Recording what a failed apply left behind.

use super::*;

/// Records the components of `desired` that exist and are this stack's but
/// that `records` lacks, so that a failed apply leaves a state that records
/// every sub-resource that exists, whatever the apply reached. Terraform
/// taints a stack whose create failed and replaces it without handing its
/// private state to either half: the destroy half sees no record (and
/// deletes nothing), the create half starts from none and adopts again what
/// it reaches; what it does not reach before failing would be in no state
/// at all, and a destroy would leave it. Dependencies first: a component
/// whose dependencies are not all recorded was never created. Only objects
/// that carry this stack's id are recorded (`find_owned`), each once.
pub async fn discover<C: Cloud>(
    env: &Arc<Env<C>>,
    kinds: &Kinds<C>,
    desired: &[Spec],
    records: &mut Records,
) {
    let Ok(order) = topo_order(desired) else {
        return;
    };
    let by_key: BTreeMap<&str, &Spec> = desired.iter().map(|s| (s.key.as_str(), s)).collect();
    for key in order {
        if env.cancelled()
            || records.contains_key(&key)
            || records.contains_key(&format!("{key}{DEPOSED}"))
        {
            continue;
        }
        let spec = by_key[key.as_str()];
        let (Ok(kind), Ok(deps)) = (kinds.get(spec.kind), dependency_records(spec, records)) else {
            continue;
        };
        let env = placed(env, spec.region.as_deref());
        // A referenced kind's create only looks its object up.
        let found = if kind.referenced() {
            kind.create(&env, spec, &deps).await.map(Some)
        } else {
            find_owned(kind.as_ref(), &env, spec).await
        };
        let Ok(Some(found)) = found else { continue };
        if records
            .values()
            .any(|r| r.kind == found.kind && r.id == found.id)
        {
            continue;
        }
        let mut rec = match kind.read(&env, &found).await {
            Ok(Some(seen)) => Record {
                tags: found.tags.clone(),
                ..seen
            },
            _ => found,
        };
        tracing::info!(component = %key, id = %rec.id, "recording existing after a failed apply");
        rec.deps = spec.deps.iter().map(|d| d.key.clone()).collect();
        rec.region = spec.region.clone();
        records.insert(key, rec);
    }
}
