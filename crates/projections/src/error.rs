//! Errors of the read side.

/// What can go wrong building or reading the read model.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    /// SQLite refused or failed (locked past the busy timeout, disk full, …).
    #[error("read model database: {0}")]
    Database(#[from] sqlx::Error),
    /// SQLite refused or failed on the projection's write path.
    #[error("read model database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The schema could not be brought up to date.
    #[error("read model schema: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// The read model's files could not be created or swapped.
    #[error("read model files: {0}")]
    Io(#[from] std::io::Error),
    /// The event stream could not tell where projection stands.
    #[error("event stream: {0}")]
    Stream(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
    /// A JetStream key-value bucket (parked events, worker heartbeats) refused or failed.
    #[error("key-value store: {0}")]
    Bucket(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
    /// A stored value is not what the schema promises.
    #[error("read model row: {0}")]
    Corrupt(String),
}
