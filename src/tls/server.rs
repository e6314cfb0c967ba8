//! The listener side at run time: the current rustls configuration behind
//! an `ArcSwap`, the handshake (with a deadline), and certificate reload.
//!
//! A reload builds a complete new configuration first and swaps it in only
//! if every file was good, so a bad file keeps the old certificates and the
//! error says which file. Connections already established keep the
//! configuration they were accepted with; only new handshakes see the swap.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use rustls::ServerConfig;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use super::{server_config, TlsError};
use crate::config::tls::ListenerTlsSection;

/// What a reload needs to rebuild the configuration from the same files.
struct State {
    config: Arc<ServerConfig>,
    section: ListenerTlsSection,
    base_dir: PathBuf,
}

/// The listener's TLS: build once, accept many, reload atomically.
pub struct ServerTls {
    state: ArcSwap<State>,
}

/// Why a TLS connection did not become usable. Carries no peer data.
#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    /// The client did not finish the handshake in time.
    #[error("TLS handshake timed out after {0:?}")]
    Timeout(Duration),
    /// The handshake failed (bad client certificate, no common protocol,
    /// not TLS at all, connection closed...).
    #[error("TLS handshake failed: {0}")]
    Handshake(#[source] std::io::Error),
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state.load();
        f.debug_struct("ServerTls").field("cert", &state.section.cert).finish_non_exhaustive()
    }
}

impl ServerTls {
    /// Reads and checks every file named by `section`.
    pub fn new(
        section: ListenerTlsSection,
        base_dir: impl Into<PathBuf>,
    ) -> Result<Self, TlsError> {
        let base_dir = base_dir.into();
        let config = server_config(&section, &base_dir)?;
        Ok(Self { state: ArcSwap::from_pointee(State { config, section, base_dir }) })
    }

    /// The configuration new handshakes use right now.
    pub fn config(&self) -> Arc<ServerConfig> {
        self.state.load().config.clone()
    }

    /// Re-reads the same files (e.g. renewed certificates). On error the
    /// old configuration stays in place.
    pub fn reload(&self) -> Result<(), TlsError> {
        let current = self.state.load_full();
        self.replace(current.section.clone(), current.base_dir.clone())
    }

    /// Switches to a new `[tls]` section (a reloaded config file). On error
    /// the old configuration stays in place.
    pub fn replace(&self, section: ListenerTlsSection, base_dir: PathBuf) -> Result<(), TlsError> {
        let config = server_config(&section, &base_dir)?;
        self.state.store(Arc::new(State { config, section, base_dir }));
        tracing::info!("TLS certificates reloaded");
        Ok(())
    }

    /// Runs the server handshake on an accepted connection, bounded by the
    /// configured handshake timeout.
    pub async fn accept<IO>(&self, io: IO) -> Result<TlsStream<IO>, AcceptError>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let (acceptor, timeout) = {
            let state = self.state.load();
            (TlsAcceptor::from(state.config.clone()), state.section.handshake_timeout())
        };
        match tokio::time::timeout(timeout, acceptor.accept(io)).await {
            Ok(Ok(stream)) => Ok(stream),
            Ok(Err(e)) => Err(AcceptError::Handshake(e)),
            Err(_) => Err(AcceptError::Timeout(timeout)),
        }
    }
}

/// Whether ALPN negotiated HTTP/2 on this connection (serve h2 only then).
pub fn is_h2<IO>(stream: &TlsStream<IO>) -> bool {
    stream.get_ref().1.alpn_protocol() == Some(b"h2")
}
