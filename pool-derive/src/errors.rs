//! The error collector shared by every stage.
//!
//! Parsing (`attr.rs`, through `ast.rs`) and the semantic checks (`valid.rs`) record into
//! one [`Errors`] instead of returning at the first problem, so a user sees all mistakes of
//! one derive in one compile (`serde_derive`'s `Ctxt` does the same). It lives apart from
//! both so that neither depends on the other for it.

use syn::{Error, Result};

/// Collects errors and folds them into one `syn::Error` with [`Error::combine`].
#[derive(Default)]
pub struct Errors {
    combined: Option<Error>,
}

impl Errors {
    pub fn push(&mut self, error: Error) {
        match &mut self.combined {
            Some(combined) => combined.combine(error),
            None => self.combined = Some(error),
        }
    }

    /// `Ok(())` if nothing was recorded, else every recorded error at once.
    pub fn finish(self) -> Result<()> {
        self.combined.map_or(Ok(()), Err)
    }
}
