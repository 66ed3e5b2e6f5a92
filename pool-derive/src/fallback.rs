//! Output for invalid input: the errors, plus a stub impl.
//!
//! Without the stub, every `Pool<MyType>` elsewhere in the user's crate would add a
//! "`MyType` cannot be pooled: it does not implement `Reset`" error on top of the real one.
//! The stub is never run: the crate does not compile while the errors stand.

use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

use crate::attr;
use crate::errors::Errors;

pub fn expand(node: &DeriveInput, error: &syn::Error) -> TokenStream {
    let ident = &node.ident;
    let (impl_generics, ty_generics, where_clause) = node.generics.split_for_impl();
    let error = error.to_compile_error();

    // Honour `#[reset(crate = path)]` if it parses; its errors are already in `error`.
    let krate = attr::container(&node.attrs, "struct", &mut Errors::default()).crate_path();

    quote! {
        #error

        #[automatically_derived]
        impl #impl_generics #krate::Reset for #ident #ty_generics #where_clause {
            fn reset(&mut self) {
                ::core::unreachable!()
            }
        }
    }
}
