//! Semantic checks on the parsed input: key conflicts on a field and the enum default rules.
//!
//! Every check records into [`Errors`] instead of returning at the first problem, so a user
//! sees all mistakes of one derive in one compile.

use proc_macro2::Span;
use syn::Error;

use crate::ast::{Enum, Field, Input, Variant};
use crate::attr::Key;
use crate::errors::Errors;

impl Input<'_> {
    pub fn validate(&self, errors: &mut Errors) {
        match self {
            Input::Struct(input) => input.fields.iter().for_each(|f| f.validate(errors)),
            Input::Enum(input) => input.validate(errors),
        }
    }
}

impl Enum<'_> {
    fn validate(&self, errors: &mut Errors) {
        let ident = &self.original.ident;
        let Some(first) = self.variants.first() else {
            errors.push(Error::new_spanned(
                ident,
                format!(
                    "#[derive(Reset)] needs at least one variant: the empty enum `{ident}` has no value to reset to"
                ),
            ));
            return;
        };

        let mut defaults = self.variants.iter().filter(|v| v.attrs.default.is_some());
        let default = defaults.next();
        for extra in defaults {
            let (Some(default), Some(key)) = (default, &extra.attrs.default) else {
                continue;
            };
            errors.push(Error::new(
                key.span,
                format!(
                    "enum `{ident}` has more than one #[reset(default)] variant: `{}` is already the default; keep one marker",
                    default.ident(),
                ),
            ));
        }

        let Some(default) = default else {
            errors.push(Error::new_spanned(
                ident,
                format!(
                    "enum `{ident}` has no #[reset(default)] variant: mark the variant that reset returns to, e.g. `#[reset(default)] {}`",
                    first.ident(),
                ),
            ));
            return;
        };

        for variant in &self.variants {
            if std::ptr::eq(variant, default) {
                variant.fields.iter().for_each(|f| f.validate(errors));
            } else {
                no_field_attrs(variant, default, errors);
            }
        }
    }
}

/// Field keys on a variant that reset never keeps would silently do nothing.
fn no_field_attrs(variant: &Variant, default: &Variant, errors: &mut Errors) {
    for field in &variant.fields {
        if let Some(attr) = field.attrs.first {
            errors.push(Error::new_spanned(
                attr,
                format!(
                    "#[reset(...)] on a field of `{}` has no effect: reset replaces a `{}` value whole with the #[reset(default)] variant `{}`; move the attribute to a field of `{}` or remove it",
                    variant.ident(),
                    variant.ident(),
                    default.ident(),
                    default.ident(),
                ),
            ));
        }
    }
}

/// What a key does to a field, for the conflict rules.
#[derive(Clone, Copy, PartialEq)]
enum Role {
    /// `skip`: nothing else can run.
    Skip,
    /// `default`, `with`, `value`: one way to reset, instead of `Reset::reset`.
    Instead,
    /// `zero`, `max_capacity`: extra steps around `Reset::reset`.
    Around,
}

struct Present {
    form: &'static str,
    role: Role,
    span: Span,
    order: usize,
}

fn present<T>(key: Option<&Key<T>>, form: &'static str, role: Role) -> Option<Present> {
    key.map(|key| Present {
        form,
        role,
        span: key.span,
        order: key.order,
    })
}

impl Field<'_> {
    /// `skip` excludes every other key; `default`, `with` and `value` exclude each other and
    /// `zero`/`max_capacity`, which only extend the plain `Reset::reset` path. Each
    /// conflict is reported once, at the later of the two keys.
    fn validate(&self, errors: &mut Errors) {
        let attrs = &self.attrs;
        let mut keys: Vec<Present> = [
            present(attrs.skip.as_ref(), "skip", Role::Skip),
            present(attrs.default.as_ref(), "default", Role::Instead),
            present(attrs.with.as_ref(), "with = ...", Role::Instead),
            present(attrs.value.as_ref(), "value = ...", Role::Instead),
            present(
                attrs.max_capacity.as_ref(),
                "max_capacity = ...",
                Role::Around,
            ),
            present(attrs.zero.as_ref(), "zero", Role::Around),
        ]
        .into_iter()
        .flatten()
        .collect();
        keys.sort_by_key(|key| key.order);

        if let syn::Type::Reference(_) = &self.original.ty
            && keys.iter().all(|key| key.role == Role::Around)
        {
            errors.push(reference_field(self));
        }

        for (i, later) in keys.iter().enumerate() {
            let Some(earlier) = keys[..i].iter().find(|k| conflict(k, later).is_some()) else {
                continue;
            };
            let why = conflict(earlier, later).unwrap_or_default();
            errors.push(Error::new(
                later.span,
                format!(
                    "#[reset({})] and #[reset({})] conflict: {why}",
                    earlier.form, later.form
                ),
            ));
        }
    }
}

/// A field whose type is a reference, with nothing to say how to reset it. Without this,
/// rustc reports the missing `Reset` impl for `&mut T` with a suggestion to borrow the
/// field once more, instead of the trait's own explanation.
fn reference_field(field: &Field<'_>) -> Error {
    let name = match &field.member {
        syn::Member::Named(ident) => ident.to_string(),
        syn::Member::Unnamed(index) => index.index.to_string(),
    };
    Error::new_spanned(
        &field.original.ty,
        format!(
            "field `{name}` is a reference, and a pooled value outlives each use, so the next \
             user would get this one's borrow: own the data instead (a `Vec`, a `String`), give \
             it a value to reset to with `#[reset(value = ...)]` (a `&'static str`, say), or \
             mark it `#[reset(skip)]` if it is not per-use state (a `&'static` table)"
        ),
    )
}

fn conflict(a: &Present, b: &Present) -> Option<String> {
    match (a.role, b.role) {
        (Role::Skip, _) | (_, Role::Skip) => Some(
            "`skip` leaves the field as it is, so the other key would never run; keep one of them"
                .to_owned(),
        ),
        (Role::Instead, Role::Instead) => Some(
            "a field is reset one way, by `default`, `with = ...` or `value = ...`; keep one of them"
                .to_owned(),
        ),
        (Role::Instead, Role::Around) | (Role::Around, Role::Instead) => {
            let (instead, around) = if a.role == Role::Instead { (a, b) } else { (b, a) };
            let around_name = around.form.trim_end_matches(" = ...");
            let fix = if instead.form == "with = ..." {
                format!("do the `{around_name}` step inside the `with` function instead")
            } else {
                "remove one, or write a `with = ...` function that does both".to_owned()
            };
            Some(format!(
                "`{around_name}` extends the field's own `Reset::reset`, which `{}` replaces; {fix}",
                instead.form,
            ))
        }
        (Role::Around, Role::Around) => None,
    }
}
