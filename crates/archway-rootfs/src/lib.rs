//! SKELETON: filled in by the owner of this crate. See ARCHITECTURE.md.
