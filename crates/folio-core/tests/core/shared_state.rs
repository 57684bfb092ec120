//! The suites of the ports a cluster shares (idempotency keys, secrets, signed downloads, rate
//! limits, the lease) on the in-memory adapters — and each suite failing against a deliberately
//! broken adapter, so a later adapter that breaks the contract the same way is caught.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use folio_core::downloads::HmacSigner;
use folio_core::ports::{Counter, IdempotencyRecord, IdempotencyStore, Lease, RateLimits};
use folio_core::testing::{
    MemoryIdempotency, MemorySecrets, check_idempotency_store, check_lease, check_rate_limits,
    check_secret_store, check_signed_downloads, check_usage_counter,
};
use folio_core::{IdentityId, MemoryLease, MemoryRateLimits, Result};

#[tokio::test]
async fn the_in_memory_adapters_pass_their_suites() {
    check_idempotency_store(Arc::new(MemoryIdempotency::default())).await;
    check_secret_store(Arc::new(MemorySecrets::default())).await;
    check_rate_limits(Arc::new(MemoryRateLimits::default())).await;
    check_lease(Arc::new(MemoryLease::default())).await;
    check_usage_counter(Arc::new(folio_core::MemoryUsage::default())).await;
    let signer = HmacSigner::new(b"contract".to_vec(), "https://folio.example");
    check_signed_downloads(&signer, &signer).await;
}

/// A swap that forgets to compare: it writes whatever it is given, so concurrent takes that
/// all read the same counter are all admitted.
#[derive(Default)]
struct RacyRateLimits(Mutex<HashMap<String, Counter>>);

#[async_trait]
impl RateLimits for RacyRateLimits {
    async fn ready(&self) -> Result<()> {
        Ok(())
    }

    async fn get(&self, key: &str, _now_ms: i64) -> Result<Counter> {
        let counter = self.0.lock().ok().and_then(|m| m.get(key).copied()).unwrap_or_default();
        tokio::time::sleep(Duration::from_millis(1)).await;
        Ok(counter)
    }

    async fn swap(&self, key: &str, _: Counter, new: Counter, _: i64, _: i64) -> Result<bool> {
        if let Ok(mut map) = self.0.lock() {
            map.insert(key.to_owned(), new);
        }
        Ok(true)
    }
}

#[tokio::test]
#[should_panic(expected = "12 concurrent takes against a burst of 5")]
async fn the_rate_limit_suite_catches_a_take_that_is_not_atomic() {
    check_rate_limits(Arc::new(RacyRateLimits::default())).await;
}

/// Grants the lease to everyone (a "lease" that forgot it is one).
struct EveryoneLeads;

#[async_trait]
impl Lease for EveryoneLeads {
    async fn ready(&self) -> Result<()> {
        Ok(())
    }

    async fn try_hold(&self, _: &str, _: &str, _: i64, _: i64) -> Result<bool> {
        Ok(true)
    }
    async fn release(&self, _: &str, _: &str) -> Result<()> {
        Ok(())
    }
}

#[tokio::test]
#[should_panic(expected = "one holder at a time")]
async fn the_lease_suite_catches_a_lease_everyone_holds() {
    check_lease(Arc::new(EveryoneLeads)).await;
}

/// The last binding wins: a retry would make a second document.
#[derive(Default)]
struct LastBindingWins(Mutex<HashMap<(IdentityId, String), IdempotencyRecord>>);

#[async_trait]
impl IdempotencyStore for LastBindingWins {
    async fn ready(&self) -> Result<()> {
        Ok(())
    }

    async fn bind(
        &self,
        identity: &IdentityId,
        key: &str,
        proposed: &IdempotencyRecord,
        _: i64,
    ) -> Result<IdempotencyRecord> {
        if let Ok(mut map) = self.0.lock() {
            map.insert((*identity, key.to_owned()), proposed.clone());
        }
        Ok(proposed.clone())
    }
    async fn purge(&self, _: i64) -> Result<u64> {
        Ok(0)
    }
}

#[tokio::test]
#[should_panic(expected = "the first binding wins")]
async fn the_idempotency_suite_catches_a_store_where_the_last_binding_wins() {
    check_idempotency_store(Arc::new(LastBindingWins::default())).await;
}

/// Signs without the file name: a URL's download name could be swapped.
struct NamelessSigner(HmacSigner);

#[async_trait]
impl folio_core::ports::UrlSigner for NamelessSigner {
    async fn sign(
        &self,
        key: &folio_core::ObjectKey,
        expires_unix: i64,
        file_name: &str,
    ) -> Result<String> {
        let _ = file_name;
        let url = self.0.sign(key, expires_unix, "document.pdf").await?;
        Ok(url.replace("name=document.pdf", "name=Report%20%26%20notes%20%C3%BC.pdf"))
    }
}

#[tokio::test]
#[should_panic(expected = "Invalid")]
async fn the_download_suite_catches_a_signature_that_leaves_out_the_file_name() {
    let signer = HmacSigner::new(b"contract".to_vec(), "");
    check_signed_downloads(&NamelessSigner(signer.clone()), &signer).await;
}
