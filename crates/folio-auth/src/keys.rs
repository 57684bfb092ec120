//! The built-in pool's signing key: Ed25519 (JWT `EdDSA`), derived from a 32-byte seed kept
//! behind the secrets port, so every process of a deployment signs with the same key.

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::AuthError;

/// A JSON Web Key.
pub type Jwk = jsonwebtoken::jwk::Jwk;
/// A JSON Web Key Set.
pub type Jwks = jsonwebtoken::jwk::JwkSet;

/// The key that signs access tokens.
pub struct SigningKey {
    kid: String,
    encoding: EncodingKey,
    public: Vec<u8>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl SigningKey {
    /// The key for a 32-byte seed.
    pub fn from_seed(seed: &[u8]) -> Result<Self, AuthError> {
        let pair = Ed25519KeyPair::from_seed_unchecked(seed)
            .map_err(|e| AuthError::Unavailable(format!("bad signing seed: {e}")))?;
        let pkcs8 = pair
            .to_pkcs8()
            .map_err(|_| AuthError::Unavailable("cannot encode the signing key".to_owned()))?;
        let public = pair.public_key().as_ref().to_vec();
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(&public))[..16].to_owned();
        Ok(Self { kid, encoding: EncodingKey::from_ed_der(pkcs8.as_ref()), public })
    }

    /// The key id (`kid`).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Signs claims as a JWT.
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, AuthError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        header.typ = Some("JWT".to_owned());
        jsonwebtoken::encode(&header, claims, &self.encoding)
            .map_err(|e| AuthError::Unavailable(e.to_string()))
    }

    /// The public key as a JWK (published at `/.well-known/jwks.json`).
    pub fn jwk(&self) -> Result<Jwk, AuthError> {
        serde_json::from_value(serde_json::json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "x": URL_SAFE_NO_PAD.encode(&self.public),
            "kid": self.kid,
            "alg": "EdDSA",
            "use": "sig",
        }))
        .map_err(|e| AuthError::Unavailable(e.to_string()))
    }
}
