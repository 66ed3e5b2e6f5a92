//! The first story's workload: body sizes of 10 KB to 3 MB, log-normal with a mean of about
//! 100 KB, and the bytes every body carries. The distribution and the generator are those of
//! `examples/proxy_buffers.rs` (`examples/support/proxy_workload.rs`, which this program
//! includes), so the two programs serve the same requests.

use crate::proxy_workload::{Rng, SEED};

/// The size of request number `index`: request `index` gets the same size in every run,
/// whichever connection sends it (a generator of its own, seeded from [`SEED`] and `index`).
pub fn request_len(index: u64) -> usize {
    Rng(SEED ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15)).request_len()
}

/// The mean of the first `count` request sizes, in bytes.
pub fn sample_mean(count: u64) -> f64 {
    (0..count).map(|i| request_len(i) as f64).sum::<f64>() / count as f64
}

/// What the proxy copies into each body, as it would copy an upstream response: a
/// pseudo-random block of a prime length, so no two nearby offsets look alike.
static UPSTREAM: [u8; 4093] = upstream();

const fn upstream() -> [u8; 4093] {
    let mut block = [0; 4093];
    let mut state: u32 = 0x2545_F491;
    let mut i = 0;
    while i < block.len() {
        // xorshift32
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        block[i] = (state >> 24) as u8;
        i += 1;
    }
    block
}

/// Appends the `len` bytes of a body to `buf` (empty, as a pool hands it out), in block-sized
/// copies. The byte at offset `i` is `UPSTREAM[(i + len) % UPSTREAM.len()]`: the block is
/// shifted by `len`, so a body differs from that of any request of another size at almost
/// every offset, and a buffer handed to two requests at once, or sent with another
/// request's bytes, shows.
pub fn fill(buf: &mut Vec<u8>, len: usize) {
    let mut start = len % UPSTREAM.len();
    while buf.len() < len {
        let take = (len - buf.len()).min(UPSTREAM.len() - start);
        buf.extend_from_slice(&UPSTREAM[start..start + take]);
        start = 0;
    }
}

/// Checks the part of a body of `len` bytes that starts at `offset`: every byte of it must
/// be the one [`fill`] wrote (compared a block-sized run at a time). Returns the offset of the
/// first wrong byte, or `len` if the part runs past the end.
pub fn check(len: usize, offset: usize, chunk: &[u8]) -> Result<(), usize> {
    if offset + chunk.len() > len {
        return Err(len);
    }
    let mut at = offset;
    let mut rest = chunk;
    while !rest.is_empty() {
        let start = (at + len) % UPSTREAM.len();
        let take = rest.len().min(UPSTREAM.len() - start);
        let (part, after) = rest.split_at(take);
        if part != &UPSTREAM[start..start + take] {
            let wrong = part
                .iter()
                .zip(&UPSTREAM[start..])
                .position(|(got, want)| got != want);
            return Err(at + wrong.unwrap_or(0));
        }
        at += take;
        rest = after;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filled_body_checks_in_any_chunks() {
        for len in [0, 1, 63, 4093, 10_000, 123_457] {
            let mut body = Vec::new();
            fill(&mut body, len);
            assert_eq!(body.len(), len);
            for chunk in [1, 7, 4096, len.max(1)] {
                for (i, part) in body.chunks(chunk).enumerate() {
                    assert_eq!(check(len, i * chunk, part), Ok(()));
                }
            }
            if len > 0 {
                let mut other = Vec::new();
                fill(&mut other, len + 1);
                assert!(check(len, 0, &other[..len]).is_err());
                let mut flipped = body.clone();
                flipped[len / 2] ^= 1;
                assert_eq!(check(len, 0, &flipped), Err(len / 2));
                assert_eq!(check(len, 1, &body), Err(len));
            }
        }
    }
}
