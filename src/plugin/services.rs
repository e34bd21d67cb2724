//! go-plugin's side services.

use crate::tfplugin::proto::health::{
    health_check_response::ServingStatus,
    health_server::{Health, HealthServer},
    HealthCheckRequest, HealthCheckResponse,
};
use crate::tfplugin::proto::plugin::{
    grpc_controller_server::{GrpcController, GrpcControllerServer},
    grpc_stdio_server::{GrpcStdio, GrpcStdioServer},
    Empty, StdioData,
};
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::Notify;
use tonic::transport::server::Router;
use tonic::{Request, Response, Status};

struct Controller {
    shutdown: Arc<Notify>,
}

#[tonic::async_trait]
impl GrpcController for Controller {
    async fn shutdown(&self, _: Request<Empty>) -> Result<Response<Empty>, Status> {
        tracing::debug!("GRPCController.Shutdown");
        let s = self.shutdown.clone();
        // Answer first, then stop serving.
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            s.notify_waiters();
        });
        Ok(Response::new(Empty {}))
    }
}

struct Stdio {
    shutdown: Arc<Notify>,
}

type StdioStream = Pin<Box<dyn futures::Stream<Item = Result<StdioData, Status>> + Send>>;

#[tonic::async_trait]
impl GrpcStdio for Stdio {
    type StreamStdioStream = StdioStream;
    /// The provider writes its logs to stderr, which go-plugin already
    /// forwards; the stream carries nothing and ends at shutdown.
    async fn stream_stdio(&self, _: Request<Empty>) -> Result<Response<StdioStream>, Status> {
        let s = self.shutdown.clone();
        let stream = futures::stream::once(async move {
            s.notified().await;
            None
        })
        .filter_map(|x: Option<Result<StdioData, Status>>| async move { x });
        Ok(Response::new(Box::pin(stream)))
    }
}

struct HealthSvc;

#[tonic::async_trait]
impl Health for HealthSvc {
    async fn check(
        &self,
        _: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        Ok(Response::new(HealthCheckResponse {
            status: ServingStatus::Serving as i32,
        }))
    }
}

use futures::StreamExt;

pub fn add_side_services(router: Router, shutdown: Arc<Notify>) -> Router {
    router
        .add_service(GrpcControllerServer::new(Controller {
            shutdown: shutdown.clone(),
        }))
        .add_service(GrpcStdioServer::new(Stdio { shutdown }))
        .add_service(HealthServer::new(HealthSvc))
}
