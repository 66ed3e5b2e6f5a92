//! Code generation: `impl Reset` for structs and enums.

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{DeriveInput, Fields, Ident, Member, Result};

use crate::ast::{Enum, Field, Input, Struct, Variant};
use crate::errors::Errors;
use crate::fallback;
use crate::generics::InferredBounds;

/// The derive: the impl, or on invalid input the errors plus a stub impl.
pub fn derive(node: &DeriveInput) -> TokenStream {
    match try_expand(node) {
        Ok(expanded) => expanded,
        // Expand to an impl anyway, so that uses of the type as `Reset` elsewhere in the
        // user's crate do not add "Reset is not implemented" errors to the real one.
        Err(error) => fallback::expand(node, &error),
    }
}

pub fn try_expand(node: &DeriveInput) -> Result<TokenStream> {
    let mut errors = Errors::default();
    let input = Input::from_syn(node, &mut errors)?;
    input.validate(&mut errors);
    errors.finish()?;

    let mut cx = Cx {
        krate: input.attrs().crate_path(),
        bounds: InferredBounds::default(),
    };
    let (reset, retained) = match &input {
        Input::Struct(input) => cx.impl_struct(input),
        Input::Enum(input) => cx.impl_enum(input),
    };
    Ok(cx.wrap(&input, &reset, retained.as_ref()))
}

struct Cx {
    krate: TokenStream,
    bounds: InferredBounds,
}

/// How generated code reaches a field: `self.member` in a struct, a `&mut`/`&` binding from
/// a `match` in an enum.
enum Access<'a> {
    SelfField(&'a Member),
    Binding(Ident),
}

/// Each method spans all of its tokens, the member name included, at `span`, so that an
/// error about the expression points at one place rather than stretching back to the
/// field's name.
impl Access<'_> {
    fn by_mut(&self, span: Span) -> TokenStream {
        match self {
            Access::SelfField(member) => {
                let (this, member) = (self_at(span), respan_member(member, span));
                quote_spanned!(span=> &mut #this.#member)
            }
            Access::Binding(binding) => quote_spanned!(span=> #binding),
        }
    }

    fn by_ref(&self, span: Span) -> TokenStream {
        match self {
            Access::SelfField(member) => {
                let (this, member) = (self_at(span), respan_member(member, span));
                quote_spanned!(span=> &#this.#member)
            }
            Access::Binding(binding) => quote_spanned!(span=> #binding),
        }
    }

    fn place(&self, span: Span) -> TokenStream {
        match self {
            Access::SelfField(member) => {
                let (this, member) = (self_at(span), respan_member(member, span));
                quote_spanned!(span=> #this.#member)
            }
            Access::Binding(binding) => quote_spanned!(span=> *#binding),
        }
    }
}

/// `self` located at `span` for error messages, but resolved where the derive's `&mut self`
/// parameter is: a field declared by a `macro_rules!` macro carries that macro's hygiene, and a
/// `self` with the field's span would not name the method's receiver (E0424).
fn self_at(span: Span) -> syn::token::SelfValue {
    syn::token::SelfValue(span.resolved_at(Span::call_site()))
}

fn respan_member(member: &Member, span: Span) -> Member {
    let mut member = member.clone();
    match &mut member {
        Member::Named(ident) => ident.set_span(span),
        Member::Unnamed(index) => index.span = span,
    }
    member
}

impl Cx {
    fn impl_struct(&mut self, input: &Struct) -> (TokenStream, Option<TokenStream>) {
        let reset = self.reset_fields(
            input
                .fields
                .iter()
                .map(|field| (field, Access::SelfField(&field.member))),
        );
        let retained = self.retained_sum(
            input
                .fields
                .iter()
                .map(|field| (field, Access::SelfField(&field.member))),
        );
        (reset, retained)
    }

    /// In the default variant: reset its fields in place, keeping their allocations. In any
    /// other variant: replace the value with the default variant built fresh, each field from
    /// its `value = expr` or `Default::default()`.
    fn impl_enum(&mut self, input: &Enum) -> (TokenStream, Option<TokenStream>) {
        let default = input
            .default_variant()
            .expect("validation guarantees one #[reset(default)] variant");
        let ident = default.ident();
        let others: Vec<TokenStream> = input
            .variants
            .iter()
            .filter(|v| !std::ptr::eq(*v, default))
            .map(any_pattern)
            .collect();

        let in_place_pattern = binding_pattern(default, Field::touched);
        let in_place = self.reset_fields(
            default
                .fields
                .iter()
                .enumerate()
                .map(|(i, field)| (field, Access::Binding(binding(i)))),
        );

        let reset = if others.is_empty() && in_place.is_empty() {
            TokenStream::new()
        } else if others.is_empty() {
            quote! {
                let #in_place_pattern = self;
                #in_place
            }
        } else {
            let fresh = self.fresh(default);
            quote! {
                match self {
                    #in_place_pattern => { #in_place }
                    #(#others)|* => *self = Self::#ident #fresh,
                }
            }
        };

        let retained_pattern = binding_pattern(default, Field::uses_reset);
        let retained = self
            .retained_sum(
                default
                    .fields
                    .iter()
                    .enumerate()
                    .map(|(i, field)| (field, Access::Binding(binding(i)))),
            )
            .map(|sum| {
                if others.is_empty() {
                    quote! {
                        let #retained_pattern = self;
                        #sum
                    }
                } else {
                    // Only the default variant is measured: `retained_bytes` is asked after
                    // `reset`, which always leaves the value in it.
                    quote! {
                        match self {
                            #retained_pattern => #sum,
                            #(#others)|* => 0,
                        }
                    }
                }
            });
        (reset, retained)
    }

    /// The steps that reset `fields`: first every `zero` field's wipe, then each field's
    /// reset in order. Wiping first means a secret is gone even if another field's reset
    /// (user code) panics, after which the pool drops the object without finishing.
    fn reset_fields<'f>(
        &mut self,
        fields: impl Iterator<Item = (&'f Field<'f>, Access<'f>)>,
    ) -> TokenStream {
        let fields: Vec<_> = fields.collect();
        let mut steps = TokenStream::new();
        for (field, access) in &fields {
            steps.extend(self.zero_field(field, access));
        }
        for (field, access) in &fields {
            steps.extend(self.reset_field(field, access));
        }
        steps
    }

    /// The wipe of a `zero` field, or nothing.
    fn zero_field(&mut self, field: &Field, access: &Access) -> TokenStream {
        if field.attrs.zero.is_none() {
            return TokenStream::new();
        }
        let krate = self.krate.clone();
        let arg = access.by_mut(last_span(&field.original.ty));
        let mut step = self.call(field, &quote!(#krate::ZeroFill), "zero_fill", Some(arg));
        step.extend(quote!(;));
        step
    }

    /// The steps that reset one field, its wipe aside ([`zero_field`](Cx::zero_field)).
    fn reset_field(&mut self, field: &Field, access: &Access) -> TokenStream {
        let attrs = &field.attrs;
        let ty = &field.original.ty;
        let krate = self.krate.clone();
        if attrs.skip.is_some() {
            return TokenStream::new();
        }
        if let Some(with) = &attrs.with {
            let function = &with.value;
            let arg = access.by_mut(last_span(function));
            return quote!(#function(#arg););
        }
        if let Some(value) = &attrs.value {
            let value = &value.value;
            let place = access.place(value.span());
            return quote!(#place = #value;);
        }
        if attrs.default.is_some() {
            let default = self.call(field, &quote!(::core::default::Default), "default", None);
            let place = access.place(ty.span());
            return quote!(#place = #default;);
        }

        let mut steps = TokenStream::new();
        let arg = access.by_mut(last_span(ty));
        steps.extend(self.call(field, &quote!(#krate::Reset), "reset", Some(arg)));
        steps.extend(quote!(;));
        if let Some(max) = &attrs.max_capacity {
            let max = &max.value;
            let arg = access.by_mut(last_span(ty));
            let args = quote!(#arg, #max);
            steps.extend(self.call(
                field,
                &quote!(#krate::LimitCapacity),
                "limit_capacity",
                Some(args),
            ));
            steps.extend(quote!(;));
        }
        steps
    }

    /// `Self::Variant { a: <A as Default>::default(), b: expr }` without the `Self::Variant`.
    fn fresh(&mut self, variant: &Variant) -> TokenStream {
        let values = variant.fields.iter().map(|field| match &field.attrs.value {
            Some(value) => value.value.to_token_stream(),
            None => self.call(field, &quote!(::core::default::Default), "default", None),
        });
        let values: Vec<TokenStream> = values.collect();
        match &variant.original.fields {
            Fields::Named(_) => {
                let names = variant.fields.iter().map(|field| &field.member);
                quote!({ #(#names: #values),* })
            }
            Fields::Unnamed(_) => quote!((#(#values),*)),
            Fields::Unit => TokenStream::new(),
        }
    }

    /// The sum of `retained_bytes` over the fields reset by their own `Reset::reset`, or
    /// `None` if there are none (the trait's default `0` then stands).
    fn retained_sum<'f>(
        &mut self,
        fields: impl Iterator<Item = (&'f Field<'f>, Access<'f>)>,
    ) -> Option<TokenStream> {
        let krate = self.krate.clone();
        let terms: Vec<TokenStream> = fields
            .filter(|(field, _)| field.uses_reset())
            .map(|(field, access)| {
                let arg = access.by_ref(last_span(&field.original.ty));
                self.call(field, &quote!(#krate::Reset), "retained_bytes", Some(arg))
            })
            .collect();
        // Saturating: an estimate for byte budgets must not panic on overflow in debug builds.
        let (first, rest) = terms.split_first()?;
        Some(quote!(#first #(.saturating_add(#rest))*))
    }

    /// `<FieldType as Trait>::method(args)`, and a where-clause `FieldType: Trait` if the
    /// type mentions a type parameter.
    ///
    /// The call is spanned over the field's type: `<` at its first token and the rest at its
    /// last, so an unmet bound (`File: Reset`) is reported under the whole type, at the
    /// field, with the trait's own `on_unimplemented` text.
    fn call(
        &mut self,
        field: &Field,
        trait_path: &TokenStream,
        method: &str,
        args: Option<TokenStream>,
    ) -> TokenStream {
        let ty = &field.original.ty;
        if field.needs_bound {
            self.bounds.insert(ty, trait_path.clone());
        }
        let first = ty.span();
        let last = last_span(ty);
        let open = quote_spanned!(first=> <);
        let trait_path = respan(trait_path.clone(), last);
        let method = Ident::new(method, last);
        let args = args.unwrap_or_default();
        quote_spanned!(last=> #open #ty as #trait_path>::#method(#args))
    }

    fn wrap(
        &self,
        input: &Input,
        reset: &TokenStream,
        retained: Option<&TokenStream>,
    ) -> TokenStream {
        let node = input.original();
        let ident = &node.ident;
        let krate = &self.krate;
        let (impl_generics, ty_generics, _) = node.generics.split_for_impl();
        let extra = input
            .attrs()
            .bound
            .as_ref()
            .map_or(&[][..], |key| &key.value[..]);
        let where_clause = self.bounds.augment_where_clause(&node.generics, extra);
        let retained = retained.map(|sum| {
            quote! {
                fn retained_bytes(&self) -> ::core::primitive::usize {
                    #sum
                }
            }
        });
        quote! {
            #[automatically_derived]
            impl #impl_generics #krate::Reset for #ident #ty_generics #where_clause {
                fn reset(&mut self) {
                    #reset
                }
                #retained
            }
        }
    }
}

/// Which fields of the default variant an in-place reset needs bound.
impl Field<'_> {
    fn touched(&self) -> bool {
        self.attrs.skip.is_none()
    }
}

/// A hygienic name for the `i`th field of a variant; `mixed_site` keeps it from clashing with
/// anything a `value = expr` mentions. It does not hide constants at the call site (a
/// pattern naming one matches it instead of binding), hence a name no one uses for a
/// constant.
fn binding(i: usize) -> Ident {
    format_ident!("__reset_field_{}", i, span = Span::mixed_site())
}

/// `Self::V { a: __reset_field_0, .. }` / `Self::V(__reset_field_0, _)` / `Self::V`, binding the fields
/// `wanted` picks.
fn binding_pattern<'a>(variant: &Variant<'a>, wanted: impl Fn(&Field<'a>) -> bool) -> TokenStream {
    let ident = variant.ident();
    match &variant.original.fields {
        Fields::Named(_) => {
            let bound: Vec<TokenStream> = variant
                .fields
                .iter()
                .enumerate()
                .filter(|(_, field)| wanted(field))
                .map(|(i, field)| {
                    let member = &field.member;
                    let binding = binding(i);
                    quote!(#member: #binding)
                })
                .collect();
            let rest = (bound.len() < variant.fields.len()).then(|| quote!(..));
            let comma = (!bound.is_empty() && rest.is_some()).then(|| quote!(,));
            quote!(Self::#ident { #(#bound),* #comma #rest })
        }
        Fields::Unnamed(_) => {
            let parts = variant.fields.iter().enumerate().map(|(i, field)| {
                if wanted(field) {
                    binding(i).into_token_stream()
                } else {
                    quote!(_)
                }
            });
            quote!(Self::#ident(#(#parts),*))
        }
        Fields::Unit => quote!(Self::#ident),
    }
}

/// A pattern matching any value of `variant`.
fn any_pattern(variant: &Variant) -> TokenStream {
    let ident = variant.ident();
    match &variant.original.fields {
        Fields::Named(_) => quote!(Self::#ident { .. }),
        Fields::Unnamed(_) => quote!(Self::#ident(..)),
        Fields::Unit => quote!(Self::#ident),
    }
}

/// The span of the last token of `tokens` (on stable, `Spanned::span` is only the first).
fn last_span(tokens: &impl ToTokens) -> Span {
    let mut last = None;
    for token in tokens.to_token_stream() {
        last = Some(token);
    }
    match last {
        Some(TokenTree::Group(group)) => group.span_close(),
        Some(token) => token.span(),
        None => Span::call_site(),
    }
}

/// `tokens` with every span, inside groups too, set to `span`.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|token| match token {
            TokenTree::Group(group) => {
                let mut new = Group::new(group.delimiter(), respan(group.stream(), span));
                new.set_span(span);
                TokenTree::Group(new)
            }
            mut token => {
                token.set_span(span);
                token
            }
        })
        .collect()
}
