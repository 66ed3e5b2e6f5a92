//! A typed view of the derive input that borrows from syn and keeps the original nodes for
//! error spans.

use syn::{Data, DataEnum, DataStruct, DeriveInput, Error, Fields, Ident, Index, Member, Result};

use crate::attr::{self, ContainerAttrs, FieldAttrs, VariantAttrs};
use crate::errors::Errors;
use crate::generics::ParamsInScope;

pub enum Input<'a> {
    Struct(Struct<'a>),
    Enum(Enum<'a>),
}

pub struct Struct<'a> {
    pub original: &'a DeriveInput,
    pub attrs: ContainerAttrs,
    pub fields: Vec<Field<'a>>,
}

pub struct Enum<'a> {
    pub original: &'a DeriveInput,
    pub attrs: ContainerAttrs,
    pub variants: Vec<Variant<'a>>,
}

pub struct Variant<'a> {
    pub original: &'a syn::Variant,
    pub attrs: VariantAttrs,
    pub fields: Vec<Field<'a>>,
}

pub struct Field<'a> {
    pub original: &'a syn::Field,
    pub attrs: FieldAttrs<'a>,
    /// `self.<member>`: the name, or the index of a tuple field.
    pub member: Member,
    /// Whether a where-clause is inferred for the type: it mentions a type parameter, and
    /// not the deriving type itself.
    pub needs_bound: bool,
}

impl<'a> Input<'a> {
    /// Reads every `#[reset]` attribute, recording attribute errors in `errors` so that they
    /// can be reported together with the semantic ones. Only a union fails right away.
    pub fn from_syn(node: &'a DeriveInput, errors: &mut Errors) -> Result<Self> {
        reject_packed(node)?;
        let scope = ParamsInScope::new(&node.ident, &node.generics);
        match &node.data {
            Data::Struct(data) => Ok(Input::Struct(Struct::from_syn(node, data, &scope, errors))),
            Data::Enum(data) => Ok(Input::Enum(Enum::from_syn(node, data, &scope, errors))),
            Data::Union(data) => {
                let union_token = data.union_token;
                let ident = &node.ident;
                Err(Error::new_spanned(
                    quote::quote!(#union_token #ident),
                    "#[derive(Reset)] is not supported on unions: it cannot know which field is \
                     live; implement `Reset` by hand",
                ))
            }
        }
    }

    pub fn original(&self) -> &'a DeriveInput {
        match self {
            Input::Struct(input) => input.original,
            Input::Enum(input) => input.original,
        }
    }

    pub fn attrs(&self) -> &ContainerAttrs {
        match self {
            Input::Struct(input) => &input.attrs,
            Input::Enum(input) => &input.attrs,
        }
    }
}

impl<'a> Struct<'a> {
    fn from_syn(
        node: &'a DeriveInput,
        data: &'a DataStruct,
        scope: &ParamsInScope,
        errors: &mut Errors,
    ) -> Self {
        Struct {
            original: node,
            attrs: attr::container(&node.attrs, "struct", errors),
            fields: Field::multiple_from_syn(&data.fields, scope, errors),
        }
    }
}

impl<'a> Enum<'a> {
    fn from_syn(
        node: &'a DeriveInput,
        data: &'a DataEnum,
        scope: &ParamsInScope,
        errors: &mut Errors,
    ) -> Self {
        Enum {
            original: node,
            attrs: attr::container(&node.attrs, "enum", errors),
            variants: data
                .variants
                .iter()
                .map(|variant| Variant {
                    original: variant,
                    attrs: attr::variant(&variant.attrs, errors),
                    fields: Field::multiple_from_syn(&variant.fields, scope, errors),
                })
                .collect(),
        }
    }

    /// The variant marked `#[reset(default)]` (the first one, if validation let several
    /// through, which it does not).
    pub fn default_variant(&self) -> Option<&Variant<'a>> {
        self.variants.iter().find(|v| v.attrs.default.is_some())
    }
}

impl Variant<'_> {
    pub fn ident(&self) -> &Ident {
        &self.original.ident
    }
}

impl<'a> Field<'a> {
    fn multiple_from_syn(
        fields: &'a Fields,
        scope: &ParamsInScope,
        errors: &mut Errors,
    ) -> Vec<Self> {
        fields
            .iter()
            .enumerate()
            .map(|(i, field)| Field {
                original: field,
                attrs: attr::field(&field.attrs, errors),
                member: field
                    .ident
                    .clone()
                    .map_or_else(|| Member::Unnamed(Index::from(i)), Member::Named),
                needs_bound: scope.needs_bound(&field.ty),
            })
            .collect()
    }

    /// Reset through the field's own `Reset::reset` (no `skip`, `default`, `with`, `value`).
    pub fn uses_reset(&self) -> bool {
        let attrs = &self.attrs;
        attrs.skip.is_none()
            && attrs.default.is_none()
            && attrs.with.is_none()
            && attrs.value.is_none()
    }
}

/// `#[repr(packed)]` types are refused: resetting a field borrows it, and a packed type's
/// fields may be unaligned, so the generated code would not compile, with an error about
/// code the user cannot see.
fn reject_packed(node: &DeriveInput) -> Result<()> {
    for attr in node
        .attrs
        .iter()
        .filter(|attr| attr.path().is_ident("repr"))
    {
        let mut packed = false;
        // A `repr` we cannot parse is rustc's to report, not ours.
        let _ = attr.parse_nested_meta(|meta| {
            packed |= meta.path.is_ident("packed");
            if meta.input.peek(syn::token::Paren) {
                let _ = meta.input.parse::<proc_macro2::Group>();
            }
            Ok(())
        });
        if packed {
            return Err(Error::new_spanned(
                attr,
                format!(
                    "#[derive(Reset)] does not support #[repr(packed)] types: resetting a field \
                     borrows it, and a packed field may be unaligned; implement `Reset` for `{}` \
                     by hand",
                    node.ident
                ),
            ));
        }
    }
    Ok(())
}
