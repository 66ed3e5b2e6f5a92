//! Parsing of `#[reset(...)]` on containers, variants and fields.
//!
//! Parsing only records what was written, keeping each key's span. Unknown keys, repeated
//! keys and malformed values are reported here (all of them, through [`Errors`]); conflicts
//! between keys are `valid.rs`'s business.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{ToTokens, quote};
use syn::meta::ParseNestedMeta;
use syn::parse::ParseStream;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Attribute, Error, Expr, ExprPath, LitStr, Path, Result, Token, WherePredicate};

use crate::errors::Errors;

// Attribute and key names, kept in one place as serde_derive keeps its `Symbol`s.
const RESET: &str = "reset";
const SKIP: &str = "skip";
const DEFAULT: &str = "default";
const WITH: &str = "with";
const VALUE: &str = "value";
const MAX_CAPACITY: &str = "max_capacity";
const ZERO: &str = "zero";
const BOUND: &str = "bound";
const CRATE: &str = "crate";

const FIELD_KEYS: &[&str] = &[SKIP, DEFAULT, WITH, VALUE, MAX_CAPACITY, ZERO];
const FIELD_FORMS: &str =
    "`skip`, `default`, `with = path`, `value = expr`, `max_capacity = n`, `zero`";

/// One key as written: where it is (for errors) and what it carries.
pub struct Key<T> {
    /// The span of the key's name, e.g. `skip` in `#[reset(skip)]`.
    pub span: Span,
    /// Position among the keys of the same item, in source order, so that a conflict is
    /// reported at whichever of the two keys comes second.
    pub order: usize,
    pub value: T,
}

/// `#[reset(...)]` on a field.
#[derive(Default)]
pub struct FieldAttrs<'a> {
    pub skip: Option<Key<()>>,
    pub default: Option<Key<()>>,
    pub with: Option<Key<ExprPath>>,
    pub value: Option<Key<Expr>>,
    pub max_capacity: Option<Key<Expr>>,
    pub zero: Option<Key<()>>,
    /// The first `#[reset]` attribute on the field, for "has no effect here" errors.
    pub first: Option<&'a Attribute>,
}

/// `#[reset(...)]` on an enum variant.
#[derive(Default)]
pub struct VariantAttrs {
    pub default: Option<Key<()>>,
}

/// `#[reset(...)]` on the struct or enum itself.
#[derive(Default)]
pub struct ContainerAttrs {
    pub bound: Option<Key<Vec<WherePredicate>>>,
    /// Read through [`ContainerAttrs::crate_path`], which supplies the default.
    krate: Option<Key<Path>>,
}

impl ContainerAttrs {
    /// The path the generated code names pool-core by: the user's `#[reset(crate = path)]`,
    /// else `::pool_core`.
    pub fn crate_path(&self) -> TokenStream {
        self.krate
            .as_ref()
            .map_or_else(|| quote!(::pool_core), |key| key.value.to_token_stream())
    }
}

/// Where an attribute sits; decides which keys are accepted and what errors say.
#[derive(Clone, Copy)]
enum Place {
    Field,
    Variant,
    Container(&'static str),
}

impl Place {
    fn accepted(self) -> String {
        match self {
            Place::Field => format!("on a field, write one of {FIELD_FORMS}"),
            Place::Variant => "on a variant, the only form is #[reset(default)]".to_owned(),
            Place::Container(noun) => {
                let article = if noun.starts_with('e') { "an" } else { "a" };
                format!(
                    "on {article} {noun}, write #[reset(bound(T: Trait, ...))] or #[reset(crate = path)]"
                )
            }
        }
    }
}

pub fn field<'a>(attrs: &'a [Attribute], errors: &mut Errors) -> FieldAttrs<'a> {
    let mut out = FieldAttrs::default();
    let mut order = 0;
    for attr in reset_attrs(attrs, Place::Field, errors) {
        out.first.get_or_insert(attr);
        parse_keys(attr, errors, |meta, errors| {
            order += 1;
            if meta.path.is_ident(SKIP) {
                flag(meta, &mut out.skip, order, errors)
            } else if meta.path.is_ident(DEFAULT) {
                flag(meta, &mut out.default, order, errors)
            } else if meta.path.is_ident(ZERO) {
                flag(meta, &mut out.zero, order, errors)
            } else if meta.path.is_ident(WITH) {
                let value = with_path(meta)?;
                set(meta, &mut out.with, value, order, "with = ...", errors);
                Ok(())
            } else if meta.path.is_ident(VALUE) {
                let value = expr_value(meta, VALUE, "value = Vec::new()")?;
                set(meta, &mut out.value, value, order, "value = ...", errors);
                Ok(())
            } else if meta.path.is_ident(MAX_CAPACITY) {
                let value = expr_value(meta, MAX_CAPACITY, "max_capacity = 4096")?;
                let value = no_string(value, "max_capacity = 4096")?;
                set(
                    meta,
                    &mut out.max_capacity,
                    value,
                    order,
                    "max_capacity = ...",
                    errors,
                );
                Ok(())
            } else {
                unknown(meta, Place::Field)
            }
        });
    }
    out
}

pub fn variant(attrs: &[Attribute], errors: &mut Errors) -> VariantAttrs {
    let mut out = VariantAttrs::default();
    for attr in reset_attrs(attrs, Place::Variant, errors) {
        parse_keys(attr, errors, |meta, errors| {
            if meta.path.is_ident(DEFAULT) {
                flag(meta, &mut out.default, 0, errors)
            } else {
                unknown(meta, Place::Variant)
            }
        });
    }
    out
}

/// `noun` is "struct" or "enum", for messages.
pub fn container(attrs: &[Attribute], noun: &'static str, errors: &mut Errors) -> ContainerAttrs {
    let place = Place::Container(noun);
    let mut out = ContainerAttrs::default();
    for attr in reset_attrs(attrs, place, errors) {
        parse_keys(attr, errors, |meta, errors| {
            if meta.path.is_ident(BOUND) {
                if meta.input.peek(Token![=]) {
                    meta.input.parse::<Token![=]>()?;
                    let lit: LitStr = meta.input.parse()?;
                    return Err(Error::new(
                        lit.span(),
                        "write the bounds as `bound(T: Trait)`, without quotes",
                    ));
                }
                let content;
                syn::parenthesized!(content in meta.input);
                let predicates =
                    Punctuated::<WherePredicate, Token![,]>::parse_terminated(&content)?;
                let predicates = predicates.into_iter().collect();
                set(meta, &mut out.bound, predicates, 0, "bound(...)", errors);
                Ok(())
            } else if meta.path.is_ident(CRATE) {
                let path = path_value(meta, "crate = my_crate::pool_core")?;
                set(meta, &mut out.krate, path, 0, "crate = ...", errors);
                Ok(())
            } else {
                unknown(meta, place)
            }
        });
    }
    out
}

/// The `#[reset...]` attributes among `attrs` that have a list; the others are reported.
fn reset_attrs<'a>(
    attrs: &'a [Attribute],
    place: Place,
    errors: &mut Errors,
) -> impl Iterator<Item = &'a Attribute> + use<'a> {
    let mut lists = Vec::new();
    for attr in attrs.iter().filter(|attr| attr.path().is_ident(RESET)) {
        match &attr.meta {
            syn::Meta::List(list) if list.tokens.is_empty() => errors.push(Error::new_spanned(
                attr,
                format!("empty #[reset()] attribute: {}", place.accepted()),
            )),
            syn::Meta::List(_) => lists.push(attr),
            syn::Meta::Path(_) | syn::Meta::NameValue(_) => errors.push(Error::new_spanned(
                attr,
                format!("expected #[reset(...)] with a key: {}", place.accepted()),
            )),
        }
    }
    lists.into_iter()
}

/// Runs `each` on every key of one attribute. An error `each` returns is recorded and the
/// rest of that key is skipped, so the keys after it are still checked.
fn parse_keys(
    attr: &Attribute,
    errors: &mut Errors,
    mut each: impl FnMut(&ParseNestedMeta, &mut Errors) -> Result<()>,
) {
    let result = attr.parse_nested_meta(|meta| {
        if let Err(error) = each(&meta, errors) {
            errors.push(error);
            skip_value(&meta)?;
        }
        Ok(())
    });
    if let Err(error) = result {
        errors.push(error);
    }
}

/// A key without a value, such as `skip`.
fn flag(
    meta: &ParseNestedMeta,
    slot: &mut Option<Key<()>>,
    order: usize,
    errors: &mut Errors,
) -> Result<()> {
    let name = key_name(meta);
    if !(meta.input.is_empty() || meta.input.peek(Token![,])) {
        return Err(meta.error(format!("`{name}` takes no value: write #[reset({name})]")));
    }
    set(meta, slot, (), order, &name, errors);
    Ok(())
}

fn set<T>(
    meta: &ParseNestedMeta,
    slot: &mut Option<Key<T>>,
    value: T,
    order: usize,
    form: &str,
    errors: &mut Errors,
) {
    if slot.is_some() {
        errors.push(meta.error(format!("duplicate #[reset({form})] attribute")));
    } else {
        *slot = Some(Key {
            span: meta.path.span(),
            order,
            value,
        });
    }
}

/// `with = path::to::fn`: a path, also with turbofish (`clear::<T>`); a string is refused
/// with the fix, since serde users will try `with = "..."` first.
fn with_path(meta: &ParseNestedMeta) -> Result<ExprPath> {
    const EXAMPLE: &str = "with = path::to::fn";
    let input = require_eq(meta, WITH, EXAMPLE)?;
    no_quoted_path(input, WITH, "a path to a function")?;
    match ungroup(input.parse::<Expr>()?) {
        Expr::Path(path) => Ok(path),
        other => Err(Error::new_spanned(
            other,
            "`with` takes a path to a `fn(&mut FieldType)`, e.g. `with = path::to::fn`; \
             for a closure or other expression, use a named function",
        )),
    }
}

fn expr_value(meta: &ParseNestedMeta, name: &str, example: &str) -> Result<Expr> {
    require_eq(meta, name, example)?.parse()
}

/// An expression without the invisible group a `macro_rules!` fragment puts around it
/// (`with = $f` with `$f:path` arrives as a group holding the path).
fn ungroup(expr: Expr) -> Expr {
    match expr {
        Expr::Group(group) => ungroup(*group.expr),
        other => other,
    }
}

/// `crate = path`, refusing a string as `with_path` does.
fn path_value(meta: &ParseNestedMeta, example: &str) -> Result<Path> {
    let input = require_eq(meta, CRATE, example)?;
    no_quoted_path(input, CRATE, "a path")?;
    Path::parse_mod_style(input)
}

/// Refuses `name = "a::b"`, at the string, with the unquoted form as the fix: `name` takes
/// `what` (a path of some kind), which serde users are used to writing as a string.
fn no_quoted_path(input: ParseStream, name: &str, what: &str) -> Result<()> {
    if input.peek(LitStr) {
        let lit: LitStr = input.parse()?;
        return Err(Error::new(
            lit.span(),
            format!(
                "`{name}` takes {what}, not a string: write `{name} = {}` without the quotes",
                lit.value()
            ),
        ));
    }
    Ok(())
}

fn no_string(expr: Expr, example: &str) -> Result<Expr> {
    if let Expr::Lit(syn::ExprLit {
        lit: syn::Lit::Str(lit),
        ..
    }) = &expr
    {
        return Err(Error::new(
            lit.span(),
            format!("expected a number, not a string: write `{example}`"),
        ));
    }
    Ok(expr)
}

fn require_eq<'b>(meta: &'b ParseNestedMeta, name: &str, example: &str) -> Result<ParseStream<'b>> {
    if meta.input.peek(Token![=]) {
        meta.value()
    } else {
        Err(meta.error(format!("`{name}` needs a value: write #[reset({example})]")))
    }
}

fn unknown(meta: &ParseNestedMeta, place: Place) -> Result<()> {
    let name = key_name(meta);
    let hint = match place {
        Place::Field if name == BOUND || name == CRATE => {
            format!("; `{name}` goes on the struct or enum, not a field")
        }
        Place::Container("enum") if name == DEFAULT => {
            "; put #[reset(default)] on the variant that reset returns to".to_owned()
        }
        Place::Container(_) | Place::Variant if FIELD_KEYS.contains(&name.as_str()) => {
            format!("; `{name}` goes on a field")
        }
        _ => String::new(),
    };
    Err(meta.error(format!(
        "unknown reset attribute `{name}`: {}{hint}",
        place.accepted()
    )))
}

fn key_name(meta: &ParseNestedMeta) -> String {
    let path = &meta.path;
    quote!(#path).to_string().replace(' ', "")
}

/// Consumes whatever follows a key up to the next top-level `,`, so that parsing can go on
/// to the next key after an error. Commas inside brackets are inside one token tree.
fn skip_value(meta: &ParseNestedMeta) -> Result<()> {
    while !(meta.input.is_empty() || meta.input.peek(Token![,])) {
        meta.input.parse::<TokenTree>()?;
    }
    Ok(())
}
