//! `phf::Map` literals built at expansion time.
//!
//! The spec crate re-exports only phf's runtime part (its `macros` feature
//! would pull a proc-macro crate into the pure model), so the perfect hash is
//! computed here with `phf_generator`, the way `phf_codegen` does it, and the
//! map is written out as a struct literal of `phf::Map`'s (public, hidden)
//! fields. `phf_generator` seeds its search with a fixed value, so the output
//! is deterministic.

use proc_macro2::{Literal, TokenStream};
use quote::quote;
use std::collections::BTreeMap;

/// Why a name map cannot be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PhfMapError {
    /// Two different values claim the same key (e.g. a state's display name
    /// equal to another state's identifier).
    #[error("the name `{key}` would refer both to {first} and to {second}")]
    ConflictingKey {
        key: String,
        first: String,
        second: String,
    },
}

/// Keys and value tokens for one map. The same key may be inserted twice
/// for the same value (an identifier equal to its display name); it is kept
/// once.
#[derive(Default)]
pub struct MapEntries {
    /// key -> (value description for errors, value tokens)
    entries: BTreeMap<String, (String, TokenStream)>,
    /// Insertion order of the keys, so the generated literal follows the spec.
    order: Vec<String>,
}

impl MapEntries {
    pub fn insert(
        &mut self,
        key: &str,
        describe: &str,
        value: TokenStream,
    ) -> Result<(), PhfMapError> {
        match self.entries.get(key) {
            Some((first, _)) if first == describe => Ok(()),
            Some((first, _)) => Err(PhfMapError::ConflictingKey {
                key: key.to_string(),
                first: first.clone(),
                second: describe.to_string(),
            }),
            None => {
                self.entries
                    .insert(key.to_string(), (describe.to_string(), value));
                self.order.push(key.to_string());
                Ok(())
            }
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// `::tcp_fsm_spec::__private::phf::Map { key, disps, entries }`.
    pub fn to_tokens(&self) -> TokenStream {
        let phf = quote!(::tcp_fsm_spec::__private::phf);
        if self.order.is_empty() {
            return quote!(#phf::Map { key: 0, disps: &[], entries: &[] });
        }
        let keys: Vec<&str> = self.order.iter().map(String::as_str).collect();
        let state = phf_generator::generate_hash(&keys);
        let key = Literal::u64_unsuffixed(state.key);
        let disps = state.disps.iter().map(|&(d1, d2)| {
            let d1 = Literal::u32_unsuffixed(d1);
            let d2 = Literal::u32_unsuffixed(d2);
            quote!((#d1, #d2))
        });
        let entries = state.map.iter().map(|&i| {
            let k = &self.order[i];
            let v = &self.entries[k].1;
            quote!((#k, #v))
        });
        quote!(#phf::Map {
            key: #key,
            disps: &[#(#disps),*],
            entries: &[#(#entries),*],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_key_same_value_is_kept_once() {
        let mut m = MapEntries::default();
        m.insert("Closed", "state Closed", quote!(State::Closed))
            .unwrap();
        m.insert("Closed", "state Closed", quote!(State::Closed))
            .unwrap();
        assert_eq!(m.len(), 1);
    }

    #[test]
    fn same_key_other_value_is_a_conflict() {
        let mut m = MapEntries::default();
        m.insert("A", "state A", quote!(State::A)).unwrap();
        let err = m.insert("A", "state B", quote!(State::B)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the name `A` would refer both to state A and to state B"
        );
    }

    /// The generated displacement table must place every key where
    /// `phf_shared::get_index` (what `phf::Map::get` uses) looks for it.
    #[test]
    fn generated_layout_is_what_phf_looks_up() {
        let keys = [
            "Closed", "CLOSED", "Listen", "LISTEN", "SynSent", "SYN_SENT",
        ];
        let mut m = MapEntries::default();
        for k in keys {
            m.insert(k, k, quote!(0)).unwrap();
        }
        let state = phf_generator::generate_hash(&keys);
        for (i, k) in keys.iter().enumerate() {
            let hashes = phf_shared::hash(*k, &state.key);
            let slot = phf_shared::get_index(&hashes, &state.disps, state.map.len());
            assert_eq!(state.map[slot as usize], i, "key {k}");
        }
        let text = m.to_tokens().to_string();
        assert!(text.contains("disps"), "{text}");
        assert!(text.contains("\"SYN_SENT\""), "{text}");
    }

    #[test]
    fn empty_map_is_a_valid_literal() {
        let text = MapEntries::default().to_tokens().to_string();
        assert!(text.contains("entries : & []"), "{text}");
    }
}
