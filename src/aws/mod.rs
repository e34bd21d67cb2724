//! The AWS access layer, below the component kinds: each region's context
//! and clients (`context.rs`), error classification (not found, refused
//! permission, readable text) and the transport-failure interceptor.
//! (Eventual-consistency retries are the engine's `Env::call`, run on what
//! each kind declares.)

mod context;
pub use context::*;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// A readable one-line description of an SDK error (code and message, or the
/// transport failure), without request bodies.
pub fn error_text<E>(e: &SdkError<E, aws_smithy_runtime_api::http::Response>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match e {
        SdkError::ServiceError(se) => {
            let err = se.err();
            match (err.code(), err.message()) {
                (Some(c), Some(m)) => format!("{c}: {m}"),
                (Some(c), None) => c.to_string(),
                // Never the raw response: it may carry secret values.
                _ => format!(
                    "unexpected response from AWS (HTTP {})",
                    se.raw().status().as_u16()
                ),
            }
        }
        // A transport failure: name the endpoint (see NameEndpointOnFailure)
        // and say what happened, without the SDK's debug dump.
        _ => match unreachable(e) {
            Some(u) => u.to_string(),
            None => chain_text(e),
        },
    }
}

/// An error and its sources, outermost first.
fn chain<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(e), |e| e.source())
}

/// The endpoint a call could not reach, when it failed in transport after
/// the SDK's retries (set by NameEndpointOnFailure).
fn unreachable<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a Unreachable> {
    chain(e).find_map(|e| e.downcast_ref::<Unreachable>())
}

/// True when the call never reached AWS and `error_text` already names the
/// endpoint it tried.
pub fn is_unreachable(e: &(dyn std::error::Error + 'static)) -> bool {
    unreachable(e).is_some()
}

/// The messages of an error and its sources, joined by ": ", each once (some
/// errors repeat their source's message in their own).
pub fn chain_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = String::new();
    for msg in chain(e).map(|e| e.to_string()) {
        if !msg.is_empty() && !out.contains(&msg) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&msg);
        }
    }
    out
}

pub fn error_code<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> Option<String> {
    match e {
        SdkError::ServiceError(se) => se.err().code().map(str::to_string),
        _ => None,
    }
}

/// True when the service error's code is one of `codes`.
pub fn code_in<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>, codes: &[&str]) -> bool {
    error_code(e)
        .map(|c| codes.contains(&c.as_str()))
        .unwrap_or(false)
}

impl<E: ProvideErrorMetadata, R> crate::engine::Fault for SdkError<E, R> {
    fn code(&self) -> Option<&str> {
        match self {
            SdkError::ServiceError(se) => se.err().code(),
            _ => None,
        }
    }
    fn message(&self) -> Option<&str> {
        match self {
            SdkError::ServiceError(se) => se.err().message(),
            _ => None,
        }
    }
}

/// The codes by which AWS refuses a call for want of permission: an IAM
/// policy, a permissions boundary or an organization's SCP. Never "not
/// found", never "not ours": the caller reports them as what they are.
const PERMISSION_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnauthorizedException",
    "AuthorizationError",
    "AuthorizationErrorException",
    "NotAuthorized",
];

/// True when AWS refused the call for want of permission.
pub fn is_permission_denied<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    code_in(e, PERMISSION_CODES)
}

/// The diagnostic text of a refused permission: the IAM action, what AWS
/// said (which names the policy type, an SCP included, when it does), and
/// what to do.
pub fn permission_text(action: &str, aws_says: &str) -> String {
    format!(
        "permission denied: the provider's credentials may not call {action} ({aws_says}). Allow {action} in the role or user Terraform runs as (an organization's service control policy or a permissions boundary can deny it too); the stack's documentation lists every IAM action it calls"
    )
}

/// Declares a component file's `not_found`: the error codes by which its
/// service says an object does not exist (one place per service, so that a
/// generic code such as ECS's ClientException cannot slip in unnoticed).
macro_rules! not_found_codes {
    ($($code:literal),+ $(,)?) => {
        fn not_found<Er: aws_smithy_types::error::metadata::ProvideErrorMetadata, R>(e: &aws_smithy_runtime_api::client::result::SdkError<Er, R>) -> bool {
            $crate::aws::code_in(e, &[$($code),+])
        }
    };
}
pub(crate) use not_found_codes;

/// True for the "does not exist" family of error codes.
pub fn is_not_found<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    match error_code(e) {
        Some(c) => {
            c.contains("NotFound")
                || c.contains("NoSuch")
                || c == "ResourceNotFoundException"
                || c == "ParameterNotFound"
                || c == "InvalidParameterValue.NotFound"
        }
        None => false,
    }
}

/// An interceptor that names the endpoint in transport failures. When a
/// call cannot reach AWS at all (connection refused, reset, timed out),
/// the SDK's error says only "dispatch failure: io error"; after the SDK
/// has given up retrying, this rewrites it to "cannot reach <endpoint>:
/// <what happened>" so the diagnostic tells which endpoint was tried. The
/// error kind (I/O or timeout) is kept.
#[derive(Debug, Default)]
pub struct NameEndpointOnFailure;

#[derive(Debug, Clone)]
struct TriedEndpoint(String);

impl aws_smithy_types::config_bag::Storable for TriedEndpoint {
    type Storer = aws_smithy_types::config_bag::StoreReplace<Self>;
}

#[derive(Debug)]
struct Unreachable {
    endpoint: String,
    detail: String,
}

impl std::fmt::Display for Unreachable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot reach {}: {}", self.endpoint, self.detail)
    }
}

impl std::error::Error for Unreachable {}

/// `scheme://host[:port]` of a request URI (no path or query: a presigned
/// query string must not reach a diagnostic).
pub fn endpoint_of(uri: &str) -> String {
    match uri.find("://") {
        Some(i) => {
            let rest = &uri[i + 3..];
            let end = rest.find(['/', '?']).unwrap_or(rest.len());
            format!("{}{}", &uri[..i + 3], &rest[..end])
        }
        None => uri.split(['/', '?']).next().unwrap_or_default().to_string(),
    }
}

impl aws_smithy_runtime_api::client::interceptors::Intercept for NameEndpointOnFailure {
    fn name(&self) -> &'static str {
        "NameEndpointOnFailure"
    }

    fn read_before_transmit(
        &self,
        context: &aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef<'_>,
        _rc: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        cfg.interceptor_state()
            .store_put(TriedEndpoint(endpoint_of(context.request().uri())));
        Ok(())
    }

    fn modify_before_completion(
        &self,
        context: &mut aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextMut<'_>,
        _rc: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        use aws_smithy_runtime_api::client::orchestrator::OrchestratorError;
        use aws_smithy_runtime_api::client::result::ConnectorError;
        let Some(TriedEndpoint(endpoint)) = cfg.load::<TriedEndpoint>().cloned() else {
            return Ok(());
        };
        if let Some(Err(e)) = context.output_or_error_mut() {
            if let Some(ce) = e.as_connector_error() {
                let detail = chain_text(ce);
                let source = Box::new(Unreachable { endpoint, detail });
                let ce = if ce.is_timeout() {
                    ConnectorError::timeout(source)
                } else {
                    ConnectorError::io(source)
                };
                *e = OrchestratorError::connector(ce);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{chain_text, endpoint_of, Unreachable};
    use aws_smithy_runtime_api::client::result::ConnectorError;

    #[test]
    fn transport_failures_name_the_endpoint_once_without_debug_dumps() {
        let inner =
            std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
        let detail = chain_text(&ConnectorError::io(Box::new(inner)));
        let ce = ConnectorError::io(Box::new(Unreachable {
            endpoint: "http://127.0.0.1:9".into(),
            detail,
        }));
        let e: aws_smithy_runtime_api::client::result::SdkError<
            aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityError,
            aws_smithy_runtime_api::http::Response,
        > = aws_smithy_runtime_api::client::result::SdkError::dispatch_failure(ce);
        assert!(super::is_unreachable(&e));
        let text = super::error_text(&e);
        assert_eq!(text.matches("http://127.0.0.1:9").count(), 1, "{text}");
        assert!(
            text.starts_with("cannot reach http://127.0.0.1:9: "),
            "{text}"
        );
        assert!(text.contains("connection refused"), "{text}");
        assert!(!text.contains("ConnectorError {"), "no debug dump: {text}");
    }

    #[test]
    fn endpoints_of_request_uris() {
        assert_eq!(
            endpoint_of("http://127.0.0.1:4566/?Action=RunInstances"),
            "http://127.0.0.1:4566"
        );
        assert_eq!(
            endpoint_of("https://ec2.eu-west-1.amazonaws.com/"),
            "https://ec2.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            endpoint_of("https://s3.amazonaws.com/bucket/key?X-Amz-Signature=abc"),
            "https://s3.amazonaws.com"
        );
        assert_eq!(
            endpoint_of("http://localhost:5000"),
            "http://localhost:5000"
        );
    }
}
