//! A queue its platform feeds (S3 notifying SQS): the event-log suite checks it with the test's
//! publisher in the platform's place.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::Result;
use crate::event::ObjectEvent;
use crate::ports::{DeadLetter, Delivery, EventPublisher, EventQueue, ObjectChange};

/// `queue` with `platform` publishing into it, as one [`EventLog`](crate::ports::EventLog).
pub struct FedQueue {
    /// Publishes what the platform would (a test's stand-in for the bucket's notifications).
    pub platform: Arc<dyn EventPublisher>,
    /// The adapter under test.
    pub queue: Arc<dyn EventQueue>,
}

#[async_trait]
impl EventPublisher for FedQueue {
    async fn publish(&self, change: ObjectChange) -> Result<ObjectEvent> {
        self.platform.publish(change).await
    }

    async fn ready(&self) -> Result<()> {
        self.platform.ready().await
    }
}

#[async_trait]
impl EventQueue for FedQueue {
    async fn receive(&self, max: usize) -> Result<Vec<Delivery>> {
        self.queue.receive(max).await
    }

    async fn wait(&self, timeout: Duration) {
        self.queue.wait(timeout).await;
    }

    async fn ack(&self, delivery: &Delivery) -> Result<()> {
        self.queue.ack(delivery).await
    }

    async fn ack_all(&self, deliveries: &[Delivery]) -> Result<()> {
        self.queue.ack_all(deliveries).await
    }

    async fn retry_later(&self, delivery: &Delivery, delay: Duration, error: &str) -> Result<()> {
        self.queue.retry_later(delivery, delay, error).await
    }

    async fn dead_letter(&self, delivery: &Delivery, error: &str) -> Result<()> {
        self.queue.dead_letter(delivery, error).await
    }

    async fn dead_letters(&self) -> Result<Vec<DeadLetter>> {
        self.queue.dead_letters().await
    }

    async fn replay(&self, ids: &[String]) -> Result<usize> {
        self.queue.replay(ids).await
    }

    async fn pending(&self) -> Result<u64> {
        self.queue.pending().await
    }

    async fn ready(&self) -> Result<()> {
        self.queue.ready().await
    }
}
