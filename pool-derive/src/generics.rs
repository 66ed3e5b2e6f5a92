//! Inferred where-clauses.
//!
//! For every field whose type mentions a type parameter, the impl gets a where-clause for
//! exactly the trait the generated code calls on that field: `Vec<T>: Reset`, `T: Default`,
//! `B: ZeroFill`. Bounding the field type rather than the bare parameter is what thiserror
//! does: `struct Batch<T> { items: Vec<T> }` then needs nothing of `T`, since every `Vec`
//! resets. A field of type `T` gets `T: Reset`. Fields that mention no parameter get no
//! bound (the call is checked as is, and a failure points at the field); parameters used only
//! in skipped fields, lifetimes and const parameters get nothing.
//!
//! A field whose type mentions the deriving type itself (`Box<[Tree<T>]>` in `Tree<T>`, or
//! `Self`) gets no bound either: `Box<[Tree<T>]>: Reset` holds exactly when the impl being
//! written applies, so as a where-clause it is a cycle the compiler cannot solve (E0275 at
//! every use). Without it the call is checked against the impl itself, with the bounds the
//! other fields give. The type is recognised by its name as written, alone or behind `self::`,
//! `super::` or `crate::`: a type of the same name elsewhere (`inner::Request<T>` in
//! `Request<T>`, an associated type `C::Frame` in `Frame<C>`) is another type and gets its
//! bound, and so does the type itself written through a module (`crate::tree::Tree<T>`),
//! which then needs `#[reset(bound(...))]`.

use std::collections::BTreeSet;

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::{
    GenericArgument, Generics, Ident, PathArguments, ReturnType, Type, TypeParamBound, WhereClause,
    WherePredicate,
};

/// The type parameters of the deriving type, and its name.
pub struct ParamsInScope<'a> {
    names: BTreeSet<&'a Ident>,
    own: &'a Ident,
}

/// What [`ParamsInScope`] looks for in a field's type.
#[derive(Clone, Copy)]
enum Sought {
    /// A type parameter (a path that starts with one).
    Param,
    /// The deriving type itself: its name, alone or behind `self::`/`super::`/`crate::`,
    /// or `Self` ([`names_own`](ParamsInScope::names_own)).
    Own,
}

impl<'a> ParamsInScope<'a> {
    pub fn new(ident: &'a Ident, generics: &'a Generics) -> Self {
        ParamsInScope {
            names: generics.type_params().map(|param| &param.ident).collect(),
            own: ident,
        }
    }

    /// Whether `ty` needs an inferred where-clause: it mentions one of the parameters
    /// anywhere (`T`, `Vec<T>`, `T::Item`, `[T; 4]`, `fn(T)`...) and not the deriving type
    /// itself (see the module docs). A type macro counts as mentioning a parameter and not the
    /// type itself: an extra where-clause is harmless, a missing one is an error.
    pub fn needs_bound(&self, ty: &Type) -> bool {
        !self.names.is_empty() && self.crawl(ty, Sought::Param) && !self.crawl(ty, Sought::Own)
    }

    fn crawl(&self, ty: &Type, sought: Sought) -> bool {
        let crawl = |ty: &Type| self.crawl(ty, sought);
        match ty {
            Type::Path(ty) => {
                let qself = ty.qself.as_ref().is_some_and(|q| crawl(&q.ty));
                let head = match sought {
                    Sought::Param => {
                        ty.qself.is_none()
                            && ty.path.leading_colon.is_none()
                            && ty
                                .path
                                .segments
                                .first()
                                .is_some_and(|s| self.names.contains(&s.ident))
                    }
                    Sought::Own => ty.qself.is_none() && self.names_own(&ty.path),
                };
                qself
                    || head
                    || ty
                        .path
                        .segments
                        .iter()
                        .any(|s| self.arguments(&s.arguments, sought))
            }
            Type::Array(ty) => crawl(&ty.elem),
            Type::Slice(ty) => crawl(&ty.elem),
            Type::Ptr(ty) => crawl(&ty.elem),
            Type::Reference(ty) => crawl(&ty.elem),
            Type::Paren(ty) => crawl(&ty.elem),
            Type::Group(ty) => crawl(&ty.elem),
            Type::Tuple(ty) => ty.elems.iter().any(crawl),
            Type::BareFn(ty) => {
                ty.inputs.iter().any(|arg| crawl(&arg.ty))
                    || matches!(&ty.output, ReturnType::Type(_, ty) if crawl(ty))
            }
            Type::TraitObject(ty) => ty.bounds.iter().any(|b| self.bound(b, sought)),
            Type::ImplTrait(ty) => ty.bounds.iter().any(|b| self.bound(b, sought)),
            Type::Never(_) | Type::Infer(_) => false,
            _ => matches!(sought, Sought::Param),
        }
    }

    /// Whether `path` is the deriving type's own: `Self` (or `Self::...`), or its name alone
    /// or behind `self::`, `super::` and `crate::` only. `inner::Request<T>` in a type named
    /// `Request` is another type (a module's), and `C::Frame` in a type named `Frame` is an
    /// associated type of a parameter: both need their where-clause.
    fn names_own(&self, path: &syn::Path) -> bool {
        if path.leading_colon.is_some() {
            return false;
        }
        if path.segments.first().is_some_and(|s| s.ident == "Self") {
            return true;
        }
        let mut segments = path.segments.iter();
        segments
            .next_back()
            .is_some_and(|last| last.ident == *self.own)
            && segments.all(|s| s.ident == "self" || s.ident == "super" || s.ident == "crate")
    }

    fn arguments(&self, arguments: &PathArguments, sought: Sought) -> bool {
        let crawl = |ty: &Type| self.crawl(ty, sought);
        match arguments {
            PathArguments::None => false,
            PathArguments::AngleBracketed(args) => args.args.iter().any(|arg| match arg {
                GenericArgument::Type(ty) => crawl(ty),
                GenericArgument::AssocType(assoc) => crawl(&assoc.ty),
                _ => false,
            }),
            PathArguments::Parenthesized(args) => {
                args.inputs.iter().any(crawl)
                    || matches!(&args.output, ReturnType::Type(_, ty) if crawl(ty))
            }
        }
    }

    fn bound(&self, bound: &TypeParamBound, sought: Sought) -> bool {
        match bound {
            TypeParamBound::Trait(bound) => bound
                .path
                .segments
                .iter()
                .any(|s| self.arguments(&s.arguments, sought)),
            _ => false,
        }
    }
}

/// Where-clauses collected per field type, deduplicated, in first-seen order.
#[derive(Default)]
pub struct InferredBounds {
    types: Vec<(Type, Vec<TokenStream>)>,
    seen: BTreeSet<(String, String)>,
}

impl InferredBounds {
    pub fn insert(&mut self, ty: &Type, bound: TokenStream) {
        let key = (ty.to_token_stream().to_string(), bound.to_string());
        if !self.seen.insert(key) {
            return;
        }
        let key = ty.to_token_stream().to_string();
        match self
            .types
            .iter_mut()
            .find(|(known, _)| known.to_token_stream().to_string() == key)
        {
            Some((_, bounds)) => bounds.push(bound),
            None => self.types.push((ty.clone(), vec![bound])),
        }
    }

    /// The type's own where-clause, then the inferred bounds, then the user's `bound(...)`.
    pub fn augment_where_clause(
        &self,
        generics: &Generics,
        extra: &[WherePredicate],
    ) -> Option<WhereClause> {
        let mut clause = generics
            .where_clause
            .clone()
            .unwrap_or_else(|| WhereClause {
                where_token: <syn::Token![where]>::default(),
                predicates: syn::punctuated::Punctuated::new(),
            });
        for (ty, bounds) in &self.types {
            clause.predicates.push(syn::parse_quote!(#ty: #(#bounds)+*));
        }
        clause.predicates.extend(extra.iter().cloned());
        (!clause.predicates.is_empty()).then_some(clause)
    }
}
