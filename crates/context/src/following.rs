//! rustls configs for other stacks (hyper-rustls, reqwest, tonic, tokio-rustls) that follow a
//! [`ReloadingTlsContext`](crate::ReloadingTlsContext): built once, they ask the current
//! snapshot for our certificate and for its verifiers at every handshake.

use std::fmt;
use std::sync::Arc;

use rustls::client::ResolvesClientCert;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{
    ClientConfig, DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme,
};

use crate::context::TlsContext;
use crate::error::ContextError;
use crate::provider;

/// Where the current snapshot comes from (the reloading context's swap).
pub(crate) type Current = Arc<dyn Fn() -> Arc<TlsContext> + Send + Sync>;

/// Our certificate and the verifiers of whatever snapshot is current when a handshake asks.
#[derive(Clone)]
pub(crate) struct Follow(pub(crate) Current);

impl Follow {
    fn now(&self) -> Arc<TlsContext> {
        (self.0)()
    }
}

impl fmt::Debug for Follow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Follow").field(&self.now()).finish()
    }
}

/// A server config whose certificate, client verification and authorization follow reloads;
/// the provider (cipher suites) and protocol versions are the current snapshot's, fixed at
/// this call.
pub(crate) fn server_config(follow: &Follow) -> Result<ServerConfig, ContextError> {
    let current = follow.now();
    let options = current.options();
    let (provider, versions) = provider::narrowed(options);
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(|error| ContextError::Rustls {
            path: options.files.certificates.clone(),
            error,
        })?
        .with_client_cert_verifier(Arc::new(follow.clone()))
        .with_cert_resolver(Arc::new(follow.clone()));
    crate::context::server_policy(&mut config);
    Ok(config)
}

/// A client config whose certificate, server verification (hostname validation included) and
/// authorization follow reloads; provider and versions as for [`server_config`].
pub(crate) fn client_config(follow: &Follow) -> Result<ClientConfig, ContextError> {
    let current = follow.now();
    let options = current.options();
    let (provider, versions) = provider::narrowed(options);
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(|error| ContextError::Rustls {
            path: options.files.certificates.clone(),
            error,
        })?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(follow.clone()))
        .with_client_cert_resolver(Arc::new(follow.clone()));
    config.resumption = rustls::client::Resumption::disabled();
    Ok(config)
}

impl ResolvesServerCert for Follow {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.now().parts.certified))
    }
}

impl ResolvesClientCert for Follow {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.now().parts.certified))
    }

    fn has_certs(&self) -> bool {
        true
    }
}

impl ClientCertVerifier for Follow {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    /// No CA names in the CertificateRequest: they would have to outlive every snapshot. An
    /// empty list lets a client present any certificate (OpenSSL, JSSE and rustls clients do).
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.now()
            .parts
            .client_verifier
            .verify_client_cert(end_entity, intermediates, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        ClientCertVerifier::verify_tls12_signature(
            &*self.now().parts.client_verifier,
            message,
            cert,
            dss,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        ClientCertVerifier::verify_tls13_signature(
            &*self.now().parts.client_verifier,
            message,
            cert,
            dss,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        ClientCertVerifier::supported_verify_schemes(&*self.now().parts.client_verifier)
    }
}

impl ServerCertVerifier for Follow {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.now().parts.server_verifier.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        ServerCertVerifier::verify_tls12_signature(
            &*self.now().parts.server_verifier,
            message,
            cert,
            dss,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        ServerCertVerifier::verify_tls13_signature(
            &*self.now().parts.server_verifier,
            message,
            cert,
            dss,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        ServerCertVerifier::supported_verify_schemes(&*self.now().parts.server_verifier)
    }
}
