//! archway's build cache.
//!
//! A build, a test run, a root filesystem or a sysroot is an *entry*: a directory of files and a
//! record, addressed by a key that hashes everything deciding its content. Entries live in the
//! local store under the cache directory; a shared store (S3-compatible) may sit behind it, read
//! through and written back, and its entries are trusted only when signed by a trusted key.

pub mod archive;
pub mod key;
pub mod settings;
pub mod shared;
pub mod sign;
pub mod store;
#[doc(hidden)]
pub mod testing;
pub mod upstream;

pub use key::{Key, KeyInputs};
pub use settings::{CacheSettings, SharedSettings, TrustedKey};
pub use shared::SharedStore;
pub use store::{EntryKind, EntryName, Record, Store, StoreError};
pub use upstream::{Pulled, Upstream, UpstreamError};
