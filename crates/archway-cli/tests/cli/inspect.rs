//! `archway inspect`.
